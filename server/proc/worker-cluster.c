/* worker-cluster.c: a worker's side of a multi-node setup (docs/SCALE.md).
 *
 * The worker never talks to Redis: the master holds the only link (cluster.c) and this file
 * fills the session hooks (struct session_cluster) with messages over the channel, so nothing
 * on the tick's path can wait for Redis. While the master says the link is down
 * (shm->cluster_up), every hook refuses at once and the game falls back to the node alone:
 * chat goes into the local room, the leaderboard is the local one, an unknown token starts a
 * new player.
 *
 *   chat         CHAT_OUT to the master; the line comes back as CHAT_IN, in the stream's order,
 *                on every node (this one too) and is put into the room's ring there.
 *   leaderboard  the master's last BOARD (once a second), used while at most 3 s old.
 *   resume       HELLO with a token unknown here: RESUME_ASK, the session waits (reading
 *                nothing) for RESUME_ANSWER, at most ASK_TIMEOUT_MS, then goes on as new.
 *   records      each welcomed player's token, name and score, published (SESSIONS) when new,
 *                at most every RECORD_DIRTY_MS while it scores, and every RECORD_REFRESH_MS,
 *                so another node can restore the score if this one dies. Bounded per
 *                heartbeat (SCAN_MAX looked at, BATCHES_MAX * CH_SESSIONS_MAX sent).
 *   rooms        worker 0 lists the node's open rooms (name, members) every ROOMS_EVERY_MS
 *                for the presence the master keeps in Redis.
 */
#include "worker-cluster.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "session.h"
#include "sessions.h"
#include "shm.h"
#include "util.h"
#include "world.h"

#define ASK_MAX           256   /* resume questions outstanding at once */
#define ASK_TIMEOUT_MS    2000  /* then the player goes on as a new one */
#define BOARD_FRESH_MS    3000  /* the master sends one every second */
#define RECORD_DIRTY_MS   2000  /* a changed score is published at most this often */
#define RECORD_REFRESH_MS 20000 /* below the record's lifetime in Redis (resume_grace + 30 s) */
#define SCAN_MAX          2048  /* sessions looked at per heartbeat */
#define BATCHES_MAX       4     /* SESSIONS messages per heartbeat */
#define ROOMS_EVERY_MS    5000  /* worker 0 lists the node's rooms for presence */

struct ask {
	uint32_t pidx, player_id;
	uint64_t since_ms;
};

struct worker_cluster {
	struct session_cluster hooks;
	struct channel *chan;
	struct sessions *sessions;
	const struct session_env *env;
	uint64_t rooms_ms; /* the last room listing sent */
	struct shm_header *shm;
	struct ch_board board;
	uint64_t board_ms; /* 0: none yet */
	struct ask asks[ASK_MAX];
	unsigned nasks;
	size_t cursor; /* where the record scan goes on */
	unsigned send_failures;
};

static bool link_up(const struct worker_cluster *wc)
{
	return atomic_load(&wc->shm->cluster_up) != 0;
}

static void copy_str(char *dst, size_t cap, const char *src, size_t len)
{
	len = MIN(len, cap - 1);
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static int send_msg(struct worker_cluster *wc, unsigned type, const void *p, size_t len)
{
	int r = channel_send(wc->chan, type, p, len, -1);

	if (r < 0 && r != -EPIPE && wc->send_failures++ % 1000 == 0)
		log_warning("cannot pass a cluster message to the master: %s", strerror(-r));
	return r;
}

static int hook_chat(void *ctx, struct session *s, const char *room, const char *text, size_t len)
{
	struct worker_cluster *wc = ctx;
	struct ch_chat m;

	if (!link_up(wc))
		return -ENETDOWN;
	memset(&m, 0, sizeof(m));
	m.sender_id = s->player_id;
	copy_str(m.room, sizeof(m.room), room, strlen(room));
	copy_str(m.sender, sizeof(m.sender), s->name, strlen(s->name));
	copy_str(m.text, sizeof(m.text), text, len);
	return send_msg(wc, CH_CHAT_OUT, &m, sizeof(m));
}

static int hook_board(void *ctx, unsigned n, struct arena_leaderboard *ret)
{
	struct worker_cluster *wc = ctx;

	if (!link_up(wc) || wc->board_ms == 0 || arena_now_ms() - wc->board_ms > BOARD_FRESH_MS)
		return -ENODATA;
	*ret = wc->board.board;
	if (ret->n > n)
		ret->n = (uint8_t)n;
	return 0;
}

static int hook_ask_resume(void *ctx, struct session *s, const uint8_t token[ARENA_TOKEN_LEN])
{
	struct worker_cluster *wc = ctx;
	struct ch_resume m;
	int r;

	if (!link_up(wc))
		return -ENETDOWN;
	if (wc->nasks == ASK_MAX)
		return -EBUSY;
	memset(&m, 0, sizeof(m));
	m.player_id = s->player_id;
	m.pidx = s->pidx;
	memcpy(m.token, token, ARENA_TOKEN_LEN);
	copy_str(m.name, sizeof(m.name), s->name, strlen(s->name));
	r = send_msg(wc, CH_RESUME_ASK, &m, sizeof(m));
	if (r < 0)
		return r;
	wc->asks[wc->nasks++] = (struct ask){s->pidx, s->player_id, arena_now_ms()};
	return 0;
}

int worker_cluster_new(struct session_env *env, struct channel *chan, struct sessions *sessions,
                       struct shm_header *shm, struct worker_cluster **ret)
{
	struct worker_cluster *wc = calloc(1, sizeof(*wc));

	if (!wc)
		return -ENOMEM;
	wc->hooks.ctx = wc;
	wc->hooks.ask_resume = hook_ask_resume;
	wc->hooks.chat = hook_chat;
	wc->hooks.board = hook_board;
	wc->chan = chan;
	wc->sessions = sessions;
	wc->env = env;
	wc->shm = shm;
	env->cluster = &wc->hooks;
	*ret = wc;
	return 0;
}

void worker_cluster_free(struct worker_cluster *wc)
{
	free(wc);
}

/* The waiting session of ask i (NULL if it went away), and the ask forgotten. */
static struct session *take_ask(struct worker_cluster *wc, unsigned i)
{
	struct ask a = wc->asks[i];
	struct session **arr;
	size_t n;

	wc->asks[i] = wc->asks[--wc->nasks];
	arr = sessions_array(wc->sessions, &n);
	for (size_t k = 0; k < n; k++)
		if (arr[k]->pidx == a.pidx && arr[k]->player_id == a.player_id &&
		    session_resume_pending(arr[k]))
			return arr[k];
	return NULL;
}

static void on_answer(struct worker_cluster *wc, const struct ch_resume *m)
{
	for (unsigned i = 0; i < wc->nasks; i++) {
		if (wc->asks[i].pidx != m->pidx || wc->asks[i].player_id != m->player_id)
			continue;
		struct session *s = take_ask(wc, i);

		if (s)
			session_remote_resume(s, m->found != 0, m->score);
		return;
	}
}

static void on_chat_in(struct worker_cluster *wc, const struct ch_chat *m)
{
	struct ch_chat c = *m; /* NUL-terminate whatever came */
	int r;

	c.room[sizeof(c.room) - 1] = c.sender[sizeof(c.sender) - 1] = c.text[sizeof(c.text) - 1] =
	    '\0';
	r = world_chat_remote(shm_world(wc->shm), c.room, c.sender_id, c.sender, c.text);
	if (r < 0 && r != -ENOENT && wc->send_failures++ % 1000 == 0)
		log_warning("chat from another node into room '%s' dropped: %s", c.room,
		            strerror(-r));
}

void worker_cluster_message(struct worker_cluster *wc, const struct channel_msg *m)
{
	switch (m->type) {
	case CH_CHAT_IN:
		on_chat_in(wc, m->payload);
		break;
	case CH_BOARD:
		memcpy(&wc->board, m->payload, sizeof(wc->board));
		if (wc->board.board.n > ARENA_LEADERBOARD_MAX)
			wc->board.board.n = ARENA_LEADERBOARD_MAX;
		wc->board_ms = arena_now_ms();
		break;
	case CH_RESUME_ANSWER:
		on_answer(wc, m->payload);
		break;
	default:
		break;
	}
}

static void publish_records(struct worker_cluster *wc, uint64_t now)
{
	struct ch_sessions batch;
	struct session **arr;
	unsigned batches = 0;
	size_t n, scanned = 0;

	arr = sessions_array(wc->sessions, &n);
	if (n == 0)
		return;
	memset(&batch, 0, sizeof(batch));
	if (wc->cursor >= n)
		wc->cursor = 0;
	while (scanned++ < MIN(n, (size_t)SCAN_MAX) && batches < BATCHES_MAX) {
		struct session *s = arr[wc->cursor];
		struct ch_session_rec *rec = &batch.rec[batch.n];

		wc->cursor = (wc->cursor + 1) % n;
		uint64_t age = now - s->record_sent_ms;

		if (!s->welcomed || age < (s->record_dirty ? RECORD_DIRTY_MS : RECORD_REFRESH_MS))
			continue;
		if (world_player_score(shm_world(wc->shm), s->pidx, &rec->score) < 0)
			continue;
		memcpy(rec->token, s->token, ARENA_TOKEN_LEN);
		copy_str(rec->name, sizeof(rec->name), s->name, strlen(s->name));
		s->record_dirty = false;
		s->record_sent_ms = now;
		if (++batch.n == CH_SESSIONS_MAX) {
			if (send_msg(wc, CH_SESSIONS, &batch, sizeof(batch)) < 0)
				return;
			batches++;
			memset(&batch, 0, sizeof(batch));
		}
	}
	if (batch.n > 0)
		send_msg(wc, CH_SESSIONS, &batch, sizeof(batch));
}

struct room_list {
	struct ch_rooms *rows; /* grown as needed, CH_ROOMS_MAX rows per batch */
	size_t n, cap;
};

static int add_room(const struct world_room_row *row, void *arg)
{
	struct room_list *l = arg;

	if (l->n == l->cap * CH_ROOMS_MAX) {
		size_t cap = l->cap ? 2 * l->cap : 4;
		struct ch_rooms *p = realloc(l->rows, cap * sizeof(*p));

		if (!p)
			return -ENOMEM;
		memset(p + l->cap, 0, (cap - l->cap) * sizeof(*p));
		l->rows = p;
		l->cap = cap;
	}
	struct ch_rooms *b = &l->rows[l->n / CH_ROOMS_MAX];
	memcpy(b->rows[b->n].name, row->name, sizeof(b->rows[0].name));
	b->rows[b->n++].members = row->members;
	l->n++;
	return 0;
}

/* Worker 0 tells the master which rooms are open here, for the node's presence in Redis. */
static void publish_rooms(struct worker_cluster *wc)
{
	struct room_list l = {0};
	struct ch_rooms none = {.first = 1, .last = 1};
	size_t batches;

	if (world_list_rooms(shm_world(wc->shm), add_room, &l) < 0) {
		free(l.rows);
		return;
	}
	batches = (l.n + CH_ROOMS_MAX - 1) / CH_ROOMS_MAX;
	if (batches == 0)
		send_msg(wc, CH_ROOMS, &none, sizeof(none));
	for (size_t i = 0; i < batches; i++) {
		l.rows[i].first = i == 0;
		l.rows[i].last = i + 1 == batches;
		if (send_msg(wc, CH_ROOMS, &l.rows[i], sizeof(l.rows[i])) < 0)
			break;
	}
	free(l.rows);
}

void worker_cluster_heartbeat(struct worker_cluster *wc, uint64_t now_ms)
{
	for (unsigned i = 0; i < wc->nasks;) {
		if (now_ms - wc->asks[i].since_ms < ASK_TIMEOUT_MS) {
			i++;
			continue;
		}
		struct session *s = take_ask(wc, i); /* moves the last ask into i */

		if (s)
			session_remote_resume(s, false, 0);
	}
	if (!link_up(wc))
		return;
	publish_records(wc, now_ms);
	if (wc->env->slot == 0 && now_ms - wc->rooms_ms >= ROOMS_EVERY_MS) {
		wc->rooms_ms = now_ms;
		publish_rooms(wc);
	}
}
