/* test-world-lock.c: robust-lock recovery for real: a process dies inside a critical section.
 *
 * Each test forks a child that takes a world or room lock, leaves the guarded data broken and
 * blocks; the parent SIGKILLs it, then carries on: its next operation must succeed (the lock
 * is repaired, not deadlocked), world_take_repairs() reports exactly the repair, and
 * world_check() finds every invariant restored. An alarm bounds every test, and each child
 * asks the kernel to kill it if the parent dies, so nothing is left behind on failure.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "arena-build.h"
#include "test-world.h"
#include "world-impl.h"

#define DEADLINE_S 20

/* Fork a child running fn(t, arg); fn must not return while the test needs it alive. The child
 * writes one byte to the pipe when it is inside its critical section (if it can). */
static pid_t spawn(struct tw *t, void (*fn)(struct tw *, uint32_t, int), uint32_t arg, int *ret_fd)
{
	int p[2];

	assert_int_equal(pipe2(p, O_CLOEXEC), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(p[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		fn(t, arg, p[1]);
		_exit(0);
	}
	close(p[1]);
	*ret_fd = p[0];
	return pid;
}

static void wait_ready(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	char c;

	assert_int_equal(poll(&pfd, 1, 10000), 1);
	assert_int_equal(read(fd, &c, 1), 1);
	close(fd);
}

static void kill_child(pid_t pid)
{
	int status;

	assert_int_equal(kill(pid, SIGKILL), 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
}

static void hang(int fd)
{
	char c = 'x';

	if (write(fd, &c, 1) != 1)
		_exit(1);
	for (;;)
		pause();
}

/* ---- Room lock ---------------------------------------------------------------------------- */

static void break_room(struct tw *t, uint32_t r, int fd)
{
	struct world *w = t->w;

	if (world_lock_room(w, r) < 0)
		_exit(1);
	struct wroom *rm = wroom(w, r);
	/* A player outside the grid, a seat count one too high, two gems on one cell, a chat
	 * entry half written (the oldest one still readable), a stale version. */
	rm->seats[0].x = (uint16_t)(w->width + 7);
	rm->seats[1].y = (uint16_t)(w->height + 100);
	rm->nseats++;
	rm->gems[1] = rm->gems[0];
	struct wchat *e = &wroom_chat(w, rm)[rm->chat_seq % WORLD_CHAT_RING];
	e->seq = UINT64_MAX;
	e->text_len = 250;
	hang(fd);
}

static void busy(struct arena_config *cfg)
{
	cfg->room_width = 8;
	cfg->room_height = 8;
	cfg->gems_per_room = 6;
}

static void room_owner_killed_mid_update(void **state)
{
	struct tw *t = tw_new(busy);
	struct world_player_info ia, ib;
	struct world_room_info ri;
	struct world_room_view v;
	struct arena_chat_msg msgs[64];
	size_t n;
	uint64_t cursor = 0, lost;
	bool scored;
	int fd;
	uint32_t a = tw_attach(t, "a", &ia), b = tw_attach(t, "b", &ib);

	alarm(DEADLINE_S);
	assert_int_equal(world_join(t->w, a, "arena", &ri), 0);
	assert_int_equal(world_join(t->w, b, "arena", &ri), 0);
	for (int i = 0; i < 70; i++)
		assert_int_equal(world_chat(t->w, i % 2 ? a : b, "hello", 5), 0);
	world_take_repairs();

	pid_t pid = spawn(t, break_room, ri.room, &fd);
	wait_ready(fd);
	kill_child(pid);
	/* Even a checker is a lock user: it repairs first, then finds everything consistent. */
	assert_int_equal(world_check(t->w), 0);
	assert_int_equal(world_take_repairs(), 1);

	/* Broken again, and this time the next user is a plain move. */
	pid = spawn(t, break_room, ri.room, &fd);
	wait_ready(fd);
	kill_child(pid);
	assert_int_equal(world_move(t->w, a, 1, 0, &scored), 0);
	assert_int_equal(world_take_repairs(), 1);
	assert_int_equal(world_check(t->w), 0);
	assert_int_equal(world_room_view(t->w, ri.room, &v), 0);
	assert_int_equal(v.nplayers, 2);
	assert_int_equal(v.ngems, 6);
	for (int i = 0; i < v.nplayers; i++)
		assert_true(v.players[i].x < 8 && v.players[i].y < 8);
	/* The chat window lost the broken entry but stays readable and in order. */
	assert_int_equal(world_chat_read(t->w, ri.room, &cursor, msgs, 64, &n, &lost), 0);
	assert_int_equal(cursor, 70);
	assert_int_equal(lost + n, 70);
	assert_true(n >= 60);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(msgs[i].text.s, "hello");
	/* And play goes on. */
	assert_int_equal(world_chat(t->w, b, "after", 5), 0);
	assert_int_equal(world_move(t->w, b, 0, 1, &scored), 0);
	assert_int_equal(world_take_repairs(), 0);
	alarm(0);
	tw_free(t);
}

#if ARENA_TEST_FAULTS
static void fault_move(struct tw *t, uint32_t pidx, int fd)
{
	bool scored;

	close(fd);
	world_test_arm_lock_fault();
	world_move(t->w, pidx, 1, 0, &scored); /* never returns */
	_exit(1);
}
#endif

static void fault_injection_in_world_move(void **state)
{
#if ARENA_TEST_FAULTS
	struct tw *t = tw_new(busy);
	struct world_player_info ia, ib;
	struct world_room_info ri;
	struct world_room_view v;
	bool scored;
	int fd;
	uint32_t a = tw_attach(t, "victim", &ia), b = tw_attach(t, "other", &ib);

	alarm(DEADLINE_S);
	assert_int_equal(world_join(t->w, a, "arena", &ri), 0);
	assert_int_equal(world_join(t->w, b, "arena", &ri), 0);
	world_take_repairs();
	pid_t pid = spawn(t, fault_move, a, &fd);
	close(fd);
	/* Wait (bounded) until the child holds the room lock. */
	struct wroom *rm = wroom(t->w, ri.room);
	int held = 0;
	for (int i = 0; i < 5000 && !held; i++) {
		int e = pthread_mutex_trylock(&rm->lock.m);
		if (e == EBUSY) {
			held = 1;
		} else {
			if (e == 0)
				pthread_mutex_unlock(&rm->lock.m);
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL);
		}
	}
	assert_true(held);
	kill_child(pid);
	assert_int_equal(world_move(t->w, b, 0, 1, &scored), 0);
	assert_int_equal(world_take_repairs(), 1);
	assert_int_equal(world_check(t->w), 0);
	assert_int_equal(world_room_view(t->w, ri.room, &v), 0);
	assert_int_equal(v.nplayers, 2);
	for (int i = 0; i < v.nplayers; i++)
		assert_true(v.players[i].x < 8 && v.players[i].y < 8);
	alarm(0);
	tw_free(t);
#else
	skip();
#endif
}

/* ---- World lock --------------------------------------------------------------------------- */

static void break_world(struct tw *t, uint32_t r, int fd)
{
	struct world *w = t->w;

	if (world_lock_world(w) < 0)
		_exit(1);
	/* Counters off, the free list cut, a score update half done (seqlock odd). */
	wdir(w, r)->nmembers += 3;
	wdir(w, r)->nresumable += 1;
	w->nattached += 5;
	w->free_head = 7;
	w->nrooms_open = 0;
	atomic_fetch_or(&w->score_seq, 1);
	hang(fd);
}

static void world_owner_killed_mid_update(void **state)
{
	struct tw *t = tw_new(NULL);
	struct world_room_info ri, rj;
	struct world_score out[8];
	size_t n;
	int fd;
	uint32_t a = tw_attach(t, "a", NULL), b = tw_attach(t, "b", NULL);
	uint32_t c = tw_attach(t, "c", NULL);

	alarm(DEADLINE_S);
	struct world_score seed = {.name = "champ", .score = 9};
	assert_int_equal(world_scores_import(t->w, &seed, 1), 0);
	assert_int_equal(world_join(t->w, a, "arena", &ri), 0);
	assert_int_equal(world_join(t->w, b, "arena", &ri), 0);
	world_take_repairs();
	pid_t pid = spawn(t, break_world, ri.room, &fd);
	wait_ready(fd);
	kill_child(pid);

	/* The master's lock-free export sees a writer that never finished: bounded, -EAGAIN. */
	assert_int_equal(world_scores_export(t->w, out, 8, &n), -EAGAIN);
	/* The next world-lock user repairs. */
	assert_int_equal(world_join(t->w, c, "arena", &rj), 0);
	assert_int_equal(rj.room, ri.room);
	assert_int_equal(world_take_repairs(), 1);
	assert_int_equal(world_check(t->w), 0);
	assert_int_equal(world_scores_export(t->w, out, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(out[0].name, "champ");
	struct world_room_view v;
	assert_int_equal(world_room_view(t->w, ri.room, &v), 0);
	assert_int_equal(v.nplayers, 3);
	/* New players still get fresh slots. */
	for (int i = 0; i < 10; i++)
		tw_attach(t, "more", NULL);
	alarm(0);
	tw_free(t);
}

/* A child killed in the middle of an expiry-heap update (two entries swapped, one dropped from
 * the count): the world repair rebuilds the heap, and a full table still evicts the detached
 * player closest to its deadline. */
static void break_heap(struct tw *t, uint32_t unused, int fd)
{
	struct world *w = t->w;

	(void)unused;
	if (world_lock_world(w) < 0)
		_exit(1);
	uint32_t *h = wheap(w), first = h[0];
	h[0] = h[w->ndetached - 1];
	h[w->ndetached - 1] = first;
	w->ndetached--;
	hang(fd);
}

static void eight_players(struct arena_config *cfg)
{
	cfg->max_players = 8;
}

static void heap_owner_killed_mid_update(void **state)
{
	struct tw *t = tw_new(eight_players);
	struct world_player_info info;
	int fd;

	alarm(DEADLINE_S);
	for (uint32_t i = 0; i < 8; i++)
		assert_int_equal(tw_attach(t, "p", NULL), i);
	/* Deadlines fall with the index: entry 7 expires first, then 6, ... */
	for (uint32_t i = 0; i < 8; i++)
		assert_int_equal(world_player_detach(t->w, i, 10000 - 1000 * (uint64_t)i), 0);
	world_take_repairs();
	pid_t pid = spawn(t, break_heap, 0, &fd);
	wait_ready(fd);
	kill_child(pid);

	assert_int_equal(world_player_attach(t->w, 0, 1, "new", NULL, 5000, &info), 0);
	assert_int_equal(world_take_repairs(), 1);
	assert_int_equal(info.pidx, 7);
	assert_int_equal(world_check(t->w), 0);
	for (uint32_t i = 7; i-- > 0;) {
		assert_int_equal(world_player_attach(t->w, 0, 1, "new", NULL, 5000, &info), 0);
		assert_int_equal(info.pidx, i);
	}
	assert_int_equal(world_player_attach(t->w, 0, 1, "new", NULL, 5000, &info), -ENOSPC);
	alarm(0);
	tw_free(t);
}

/* A child killed between the room section and the directory update of a join: the world
 * repair must drop the orphan seat it left behind. */
static void orphan_seat(struct tw *t, uint32_t pidx, int fd)
{
	struct world *w = t->w;

	if (world_lock_world(w) < 0)
		_exit(1);
	uint32_t r = 0;
	if (world_lock_room(w, r) < 0)
		_exit(1);
	room_seat_locked(w, r, pidx, wplayer(w, pidx)->id, 0, NULL);
	world_unlock_room(w, r);
	hang(fd);
}

static void join_interrupted_between_locks(void **state)
{
	struct tw *t = tw_new(NULL);
	struct world_room_info ri;
	struct world_room_view v;
	int fd;
	struct world_player_info ic;
	uint32_t a = tw_attach(t, "a", NULL), b = tw_attach(t, "b", NULL);
	uint32_t c = tw_attach(t, "c", &ic);

	alarm(DEADLINE_S);
	assert_int_equal(world_join(t->w, a, "zero", &ri), 0);
	assert_int_equal(ri.room, 0);
	assert_int_equal(world_join(t->w, c, "zero", &ri), 0);
	world_take_repairs();
	pid_t pid = spawn(t, orphan_seat, b, &fd);
	wait_ready(fd);
	kill_child(pid);
	assert_int_equal(world_room_view(t->w, 0, &v), 0);
	assert_int_equal(v.nplayers, 3); /* the orphan is visible until the world is repaired */
	assert_int_equal(world_leave(t->w, a), 0);
	assert_int_equal(world_take_repairs(), 1);
	assert_int_equal(world_check(t->w), 0);
	assert_int_equal(world_room_view(t->w, 0, &v), 0);
	assert_int_equal(v.nplayers, 1);
	assert_int_equal(v.players[0].id, ic.id);
	assert_int_equal(world_join(t->w, b, "", &ri), 0);
	alarm(0);
	tw_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(room_owner_killed_mid_update),
	    cmocka_unit_test(fault_injection_in_world_move),
	    cmocka_unit_test(world_owner_killed_mid_update),
	    cmocka_unit_test(join_interrupted_between_locks),
	    cmocka_unit_test(heap_owner_killed_mid_update),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
