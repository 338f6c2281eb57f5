/* test-tick.c: unit tests of the worker's tick over real sessions: who gets SNAPSHOT and CHAT_MSG.
 *
 * The test plays one worker in-process: a world in a real shm region, the real session set on a
 * libevent base, and tick.c, with each client on the far end of a socketpair speaking the wire
 * protocol through the protocol library. Ticks are run by hand with a simulated clock, so every
 * expectation is exact: a quiet room sends nothing but keyframes, any change (made by these
 * sessions or straight in the world, as another worker would) reaches every recipient on the
 * next tick, and the tick's reused room-sorted list follows joins, room changes, leaves and
 * closed, freed sessions (under ASan a stale list would be a use after free).
 */
#include <errno.h>
#include <event2/event.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "play.h"
#include "sessions.h"
#include "shm.h"
#include "tick.h"
#include "world.h"

#define KEYFRAME_MS 1000
#define TICK_MS     50
#define MSGS_MAX    64

struct tt {
	struct arena_config cfg;
	struct shm_header *hdr;
	struct session_env env;
	struct event_base *base;
	struct sessions *set;
	struct tick_ctx *tick;
	uint32_t tickno;
	uint64_t now; /* the tick's simulated clock */
};

struct cli {
	int fd;
	struct arena_decoder dec;
	uint32_t id;
	uint16_t room;
	struct arena_msg msgs[MSGS_MAX]; /* what arrived since the last cli_read */
	size_t n;
};

static void on_closed(const struct peer_addr *peer, void *userdata)
{
	(void)peer;
	(void)userdata;
}

static const struct sessions_ops ops = {.closed = on_closed};

static struct tt *tt_new(void)
{
	struct tt *t = calloc(1, sizeof(*t));

	assert_non_null(t);
	arena_config_defaults(&t->cfg);
	t->cfg.max_players = 64;
	t->cfg.max_rooms = 8;
	t->cfg.keyframe_interval_ms = KEYFRAME_MS;
	size_t size = world_size(&t->cfg);
	assert_int_equal(shm_create(size, &t->hdr), 0);
	assert_int_equal(world_init(shm_world(t->hdr), size, &t->cfg, 7), 0);
	atomic_store(&t->hdr->slots[0].gen, 1);
	atomic_store(&t->hdr->slots[0].state, WORKER_READY);
	t->env.world = shm_world(t->hdr);
	t->env.shm = t->hdr;
	t->env.cfg = &t->cfg;
	t->env.slot = 0;
	t->env.gen = 1;
	t->env.stats = &t->hdr->slots[0];
	t->env.game = &play_game;
	t->base = event_base_new();
	assert_non_null(t->base);
	assert_int_equal(sessions_new(t->base, &t->env, &ops, NULL, &t->set), 0);
	assert_int_equal(tick_new(&t->env, &t->tick), 0);
	t->now = arena_now_ms();
	return t;
}

static void tt_free(struct tt *t)
{
	tick_free(t->tick);
	sessions_free(t->set);
	event_base_free(t->base);
	assert_int_equal(world_check(t->env.world), 0);
	shm_destroy(t->hdr);
	free(t);
}

/* Let the sessions read, answer and flush (bounded passes of the loop). */
static void pump(struct tt *t)
{
	for (int i = 0; i < 8; i++)
		assert_true(event_base_loop(t->base, EVLOOP_NONBLOCK) >= 0);
}

/* Everything the client received since the last call, decoded into c->msgs. */
static void cli_read(struct cli *c)
{
	uint8_t buf[4096];

	c->n = 0;
	for (int i = 0; i < 64; i++) {
		ssize_t len = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (len <= 0)
			break;
		const uint8_t *p = buf;
		while (len > 0) {
			size_t used;
			int r = arena_decoder_feed(&c->dec, p, (size_t)len, &used, &c->msgs[c->n]);
			assert_true(r >= 0);
			p += used;
			len -= (ssize_t)used;
			if (r == 1) {
				assert_true(c->n < MSGS_MAX - 1);
				c->n++;
			}
		}
	}
}

static size_t count(const struct cli *c, uint8_t type)
{
	size_t k = 0;

	for (size_t i = 0; i < c->n; i++)
		k += c->msgs[i].type == type;
	return k;
}

static const struct arena_msg *first(const struct cli *c, uint8_t type)
{
	static const struct arena_msg none;

	for (size_t i = 0; i < c->n; i++)
		if (c->msgs[i].type == type)
			return &c->msgs[i];
	fail_msg("no message of type %s", arena_msg_type_name(type));
	return &none;
}

static void cli_send(struct tt *t, struct cli *c, const struct arena_msg *m)
{
	uint8_t buf[512];
	ssize_t len = arena_encode(m, buf, sizeof(buf));

	assert_true(len > 0);
	assert_int_equal(write(c->fd, buf, (size_t)len), len);
	pump(t);
	cli_read(c);
}

static void cli_connect(struct tt *t, struct cli *c, const char *name)
{
	struct peer_addr peer = {0};
	struct arena_msg m = {.type = ARENA_HELLO};
	int sv[2];

	memset(c, 0, sizeof(*c));
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
	c->fd = sv[1];
	arena_decoder_init(&c->dec, ARENA_SIDE_CLIENT, ARENA_PAYLOAD_MAX);
	assert_int_equal(sessions_add(t->set, sv[0], &peer), 0);
	m.u.hello.version = ARENA_PROTO_VERSION;
	m.u.hello.name.len = (uint8_t)strlen(name);
	memcpy(m.u.hello.name.s, name, m.u.hello.name.len);
	cli_send(t, c, &m);
	assert_int_equal(c->n, 1);
	c->id = first(c, ARENA_WELCOME)->u.welcome.player_id;
}

static void cli_join(struct tt *t, struct cli *c, const char *room)
{
	struct arena_msg m = {.type = ARENA_JOIN};

	m.u.join.room.len = (uint8_t)strlen(room);
	memcpy(m.u.join.room.s, room, m.u.join.room.len);
	cli_send(t, c, &m);
	assert_int_equal(c->n, 1);
	c->room = first(c, ARENA_JOINED)->u.joined.room_id;
}

static void cli_move(struct tt *t, struct cli *c, uint32_t seq)
{
	struct arena_msg m = {.type = ARENA_MOVE};

	m.u.move.seq = seq;
	m.u.move.dx = 0;
	m.u.move.dy = 0; /* applied as a no-op: only ack_seq moves */
	cli_send(t, c, &m);
	assert_int_equal(c->n, 0);
}

static void cli_chat(struct tt *t, struct cli *c, const char *text)
{
	struct arena_msg m = {.type = ARENA_CHAT};

	m.u.chat.text.len = (uint8_t)strlen(text);
	memcpy(m.u.chat.text.s, text, m.u.chat.text.len);
	cli_send(t, c, &m);
	assert_int_equal(c->n, 0);
}

/* One tick, advance_ms after the previous one; then what each client got. */
static void run_tick(struct tt *t, uint64_t advance_ms, struct cli **cs, size_t ncs)
{
	struct session **arr;
	size_t n;

	t->now += advance_ms;
	arr = sessions_array(t->set, &n);
	tick_run(t->tick, ++t->tickno, t->now, arr, n, sessions_generation(t->set));
	pump(t);
	for (size_t i = 0; i < ncs; i++)
		cli_read(cs[i]);
}

/* c got exactly one SNAPSHOT, of its room, with nplayers players and this ack, and nothing else
 * but `chats` CHAT_MSG. */
static void got_snapshot(const struct cli *c, unsigned nplayers, uint32_t ack, size_t chats)
{
	assert_int_equal(count(c, ARENA_SNAPSHOT), 1);
	assert_int_equal(count(c, ARENA_CHAT_MSG), chats);
	assert_int_equal(c->n, 1 + chats);
	const struct arena_snapshot *s = &first(c, ARENA_SNAPSHOT)->u.snapshot;
	assert_int_equal(s->room_id, c->room);
	assert_int_equal(s->nplayers, nplayers);
	assert_int_equal(s->ack_seq, ack);
}

static void got_nothing(const struct cli *c)
{
	assert_int_equal(c->n, 0);
}

static void quiet_room_gets_only_keyframes(void **state)
{
	struct tt *t = tt_new();
	struct cli a, b, *cs[] = {&a, &b};

	cli_connect(t, &a, "a");
	cli_connect(t, &b, "b");
	cli_join(t, &a, "quiet");
	cli_join(t, &b, "quiet");
	run_tick(t, TICK_MS, cs, 2);
	got_snapshot(&a, 2, 0, 0);
	got_snapshot(&b, 2, 0, 0);

	/* Nothing changes: nothing is sent, and the session set does not move either. */
	uint64_t gen = sessions_generation(t->set);
	uint64_t since = 0;
	for (; since + TICK_MS < KEYFRAME_MS; since += TICK_MS) {
		run_tick(t, TICK_MS, cs, 2);
		got_nothing(&a);
		got_nothing(&b);
	}
	assert_true(sessions_generation(t->set) == gen);

	/* The keyframe is due keyframe_interval after the last SNAPSHOT. */
	run_tick(t, TICK_MS, cs, 2);
	got_snapshot(&a, 2, 0, 0);
	got_snapshot(&b, 2, 0, 0);
	run_tick(t, TICK_MS, cs, 2);
	got_nothing(&a);
	got_nothing(&b);
	close(a.fd);
	close(b.fd);
	tt_free(t);
}

/* Run ticks until c gets a SNAPSHOT (at most limit_ms); the time waited, in ms. */
static uint64_t next_keyframe(struct tt *t, struct cli *c, struct cli **cs, size_t ncs,
                              uint64_t limit_ms)
{
	for (uint64_t waited = TICK_MS; waited <= limit_ms; waited += TICK_MS) {
		run_tick(t, TICK_MS, cs, ncs);
		if (count(c, ARENA_SNAPSHOT) > 0)
			return waited;
	}
	return 0;
}

static void keyframes_back_off_until_a_change(void **state)
{
	struct tt *t = tt_new();
	struct cli a, b, *cs[] = {&a, &b};

	t->cfg.keyframe_max_ms = 8 * KEYFRAME_MS;
	cli_connect(t, &a, "a");
	cli_connect(t, &b, "b");
	cli_join(t, &a, "idle");
	cli_join(t, &b, "idle");
	run_tick(t, TICK_MS, cs, 2);
	got_snapshot(&a, 2, 0, 0);
	got_snapshot(&b, 2, 0, 0);

	/* Unchanged: each keyframe waits twice as long as the last, up to keyframe_max. */
	static const uint64_t gaps[] = {1, 2, 4, 8, 8};
	for (size_t i = 0; i < sizeof(gaps) / sizeof(gaps[0]); i++) {
		assert_int_equal(next_keyframe(t, &a, cs, 2, 9 * KEYFRAME_MS),
		                 gaps[i] * KEYFRAME_MS);
		got_snapshot(&a, 2, 0, 0);
		got_snapshot(&b, 2, 0, 0); /* the same schedule: both were served together */
	}

	/* A's ack moves: A gets a SNAPSHOT at once and its keyframes start over at
	 * keyframe_interval; B's room did not change, so B stays on its long gap. */
	cli_move(t, &a, 1);
	run_tick(t, TICK_MS, cs, 2);
	got_snapshot(&a, 2, 1, 0);
	got_nothing(&b);
	assert_int_equal(next_keyframe(t, &a, cs, 2, 9 * KEYFRAME_MS), KEYFRAME_MS);
	got_nothing(&b);
	assert_int_equal(next_keyframe(t, &a, cs, 2, 9 * KEYFRAME_MS), 2 * KEYFRAME_MS);

	/* A lower keyframe_max (a reload) applies to the gaps already running: B, 3 s after its
	 * last SNAPSHOT, is overdue and served on the next tick, then every keyframe_max. */
	t->cfg.keyframe_max_ms = KEYFRAME_MS;
	assert_int_equal(next_keyframe(t, &b, cs, 2, 9 * KEYFRAME_MS), TICK_MS);
	assert_int_equal(next_keyframe(t, &b, cs, 2, 9 * KEYFRAME_MS), KEYFRAME_MS);
	close(a.fd);
	close(b.fd);
	tt_free(t);
}

/* Move the outside player one step onto a cell inside the grid that no player holds. */
static void far_step(struct tt *t, const struct world_player_info *far)
{
	static const int dirs[4][2] = {{1, 0}, {-1, 0}, {0, 1}, {0, -1}};
	struct world_room_view v;
	struct world_room_info ri;
	bool scored;

	assert_int_equal(world_player_room(t->env.world, far->pidx, &ri), 0);
	assert_int_equal(world_room_view(t->env.world, ri.room, &v), 0);
	for (int d = 0; d < 4; d++) {
		int x = ri.x + dirs[d][0], y = ri.y + dirs[d][1];
		bool taken = x < 0 || y < 0 || x >= ri.width || y >= ri.height;

		for (int i = 0; i < v.nplayers && !taken; i++)
			taken = v.players[i].x == x && v.players[i].y == y;
		if (taken)
			continue;
		assert_int_equal(
		    world_move(t->env.world, far->pidx, dirs[d][0], dirs[d][1], &scored), 0);
		assert_true(world_room_view(t->env.world, ri.room, &v) == 0 && v.version > 0);
		return;
	}
	fail_msg("no free cell next to the outside player");
}

static void changes_reach_every_recipient(void **state)
{
	struct tt *t = tt_new();
	struct cli a, b, *cs[] = {&a, &b};
	struct world_player_info far;
	struct world_room_info ri;

	cli_connect(t, &a, "a");
	cli_connect(t, &b, "b");
	cli_join(t, &a, "busy");
	cli_join(t, &b, "busy");
	run_tick(t, TICK_MS, cs, 2);

	/* A's own MOVE: only A's ack moved, so only A is due. */
	cli_move(t, &a, 1);
	run_tick(t, TICK_MS, cs, 2);
	got_snapshot(&a, 2, 1, 0);
	got_nothing(&b);

	/* Chat: both get it, no SNAPSHOT. */
	cli_chat(t, &b, "hi");
	run_tick(t, TICK_MS, cs, 2);
	assert_int_equal(count(&a, ARENA_CHAT_MSG), 1);
	assert_int_equal(a.n, 1);
	assert_int_equal(b.n, 1);
	assert_string_equal(first(&b, ARENA_CHAT_MSG)->u.chat_msg.text.s, "hi");
	run_tick(t, TICK_MS, cs, 2);
	got_nothing(&a);
	got_nothing(&b);

	/* A player of another worker joins, moves and chats, straight in the world. */
	assert_int_equal(world_player_attach(t->env.world, 1, 1, "far", NULL, t->now, &far), 0);
	assert_int_equal(world_join(t->env.world, far.pidx, "busy", &ri), 0);
	assert_int_equal(ri.room, a.room);
	run_tick(t, TICK_MS, cs, 2);
	got_snapshot(&a, 3, 1, 0);
	got_snapshot(&b, 3, 0, 0);
	far_step(t, &far);
	assert_int_equal(world_chat(t->env.world, far.pidx, "yo", 2), 0);
	run_tick(t, TICK_MS, cs, 2);
	got_snapshot(&a, 3, 1, 1);
	got_snapshot(&b, 3, 0, 1);
	assert_string_equal(first(&a, ARENA_CHAT_MSG)->u.chat_msg.text.s, "yo");
	run_tick(t, TICK_MS, cs, 2);
	got_nothing(&a);
	got_nothing(&b);
	assert_int_equal(world_leave(t->env.world, far.pidx), 0);
	assert_int_equal(world_player_detach(t->env.world, far.pidx, t->now), 0);
	close(a.fd);
	close(b.fd);
	tt_free(t);
}

static void list_follows_joins_leaves_and_closes(void **state)
{
	struct tt *t = tt_new();
	struct cli a, b, c, *cs[] = {&a, &b, &c};
	struct session **arr;
	size_t n;

	cli_connect(t, &a, "a");
	cli_connect(t, &b, "b");
	cli_join(t, &a, "one");
	cli_join(t, &b, "two");
	assert_true(a.room != b.room);
	run_tick(t, TICK_MS, cs, 2);
	got_snapshot(&a, 1, 0, 0);
	got_snapshot(&b, 1, 0, 0);

	/* A newcomer, seated after the list was built, is served at once. */
	cli_connect(t, &c, "c");
	run_tick(t, TICK_MS, cs, 3);
	got_nothing(&a);
	got_nothing(&b);
	got_nothing(&c); /* in the lobby */
	cli_join(t, &c, "one");
	run_tick(t, TICK_MS, cs, 3);
	got_snapshot(&a, 2, 0, 0);
	got_nothing(&b);
	got_snapshot(&c, 2, 0, 0);

	/* B changes rooms: it is served in its new room only. */
	cli_join(t, &b, "one");
	run_tick(t, TICK_MS, cs, 3);
	got_snapshot(&a, 3, 0, 0);
	got_snapshot(&b, 3, 0, 0);
	got_snapshot(&c, 3, 0, 0);

	/* B leaves: no more snapshots for it, keyframes go on for the others. */
	struct arena_msg leave = {.type = ARENA_LEAVE};
	cli_send(t, &b, &leave);
	assert_int_equal(count(&b, ARENA_LEFT), 1);
	run_tick(t, TICK_MS, cs, 3);
	got_snapshot(&a, 2, 0, 0);
	got_nothing(&b);
	got_snapshot(&c, 2, 0, 0);
	run_tick(t, KEYFRAME_MS, cs, 3);
	got_snapshot(&a, 2, 0, 0);
	got_nothing(&b);
	got_snapshot(&c, 2, 0, 0);

	/* C hangs up: its session is closed and freed before the next tick. */
	close(c.fd);
	pump(t);
	arr = sessions_array(t->set, &n);
	assert_non_null(arr);
	assert_int_equal(n, 2);
	run_tick(t, TICK_MS, cs, 2);
	got_snapshot(&a, 1, 0, 0);
	got_nothing(&b);
	run_tick(t, TICK_MS, cs, 2);
	got_nothing(&a);
	got_nothing(&b);
	close(a.fd);
	close(b.fd);
	tt_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(quiet_room_gets_only_keyframes),
	    cmocka_unit_test(keyframes_back_off_until_a_change),
	    cmocka_unit_test(changes_reach_every_recipient),
	    cmocka_unit_test(list_follows_joins_leaves_and_closes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
