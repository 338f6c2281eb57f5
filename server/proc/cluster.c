/* cluster.c: the master's link to Redis when several nodes share one game (docs/SCALE.md).
 *
 * Only the master talks to Redis, from its own event loop (hiredis's async API with its
 * libevent adapter); workers reach it through the channel (worker-cluster.c), so no game code
 * ever waits for Redis. Two connections:
 *
 *   commands  XADD of chat, ZADD/ZREVRANGE of the leaderboard, resume records (SET/GETDEL),
 *             presence (HSET/EXPIRE/ZADD), once a second or as workers ask.
 *   stream    XREAD BLOCK on the chat stream, one read at a time from the last id seen, so
 *             every node puts every line into its room in the stream's one order.
 *
 * hiredis has no command timeout, so this file keeps one: a link whose oldest command has not
 * been answered within ANSWER_TIMEOUT_MS (a stopped or overloaded Redis still accepts TCP) is
 * dropped and reconnected with a backoff (100 ms doubling to 5 s). A link counts as up only
 * after an answer, not after the TCP connect. shm->cluster_up is 1 while both links are up;
 * workers read it to decide, at once, between the cluster and the node alone. The rule while
 * down: chat goes into the local room only, the leaderboard is the local one, resume records
 * wait (a worker re-sends them later), an unknown token is a new player. On the way back the
 * whole local leaderboard is merged again (ZADD GT) and the stream is read from where it was
 * left, skipping lines older than CATCHUP_MS and the ones this node already put in locally.
 * Down and up are logged once each.
 */
#include "cluster.h"

#include <arpa/inet.h>
#include <errno.h>
#include <hiredis/adapters/libevent.h>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "master-internal.h"
#include "util.h"
#include "world.h"

#define TIMER_MS          100
#define ANSWER_TIMEOUT_MS 2000
#define READ_BLOCK_MS     1000
#define BACKOFF_MIN_MS    100
#define BACKOFF_MAX_MS    5000
#define INFLIGHT_MAX      10000 /* commands unanswered on one link; beyond: local only */
#define CATCHUP_MS        30000 /* stream lines older than this are not replayed after an outage */
#define LOCAL_SEQS        1024  /* own lines put in locally after a failed XADD */
#define ZADD_BATCH        256
#define PRESENCE_TTL_S    5

#define KEY_CHAT    "arena:chat"
#define KEY_SCORES  "arena:scores"
#define KEY_NODES   "arena:nodes"
#define CHAT_MAXLEN "10000"

enum link_state { LINK_DOWN, LINK_OPENING, LINK_UP };

struct link {
	struct cluster *c;
	const char *what;
	redisAsyncContext *ac; /* NULL while down */
	enum link_state state;
	bool broken;          /* an answer made no sense: the timer drops the link */
	unsigned inflight;    /* commands sent, not answered */
	uint64_t progress_ms; /* last answer, or when inflight left 0 */
	uint64_t retry_ms;
	uint32_t backoff_ms;
	uint32_t timeout_ms;
};

struct sent_score {
	char name[ARENA_NAME_MAX + 1]; /* "" = free */
	uint32_t score;
};

struct cluster {
	struct master *m;
	char host[INET6_ADDRSTRLEN];
	int port;
	char node[128]; /* this node's id: hostname/first listener */
	struct link cmd, rd;
	struct event *ev_timer;
	bool up; /* both links up (mirrored in shm->cluster_up) */
	bool ever_up;
	bool logged_error; /* an error answer logged (once until the next up) */
	bool resync;       /* send every score again: a merge was lost */
	bool stopping;
	uint64_t down_since_ms;
	uint64_t next_second_ms;
	char last_id[48]; /* stream id read up to; "" until the first look */
	uint64_t chat_seq;
	uint64_t local_seqs[LOCAL_SEQS];
	unsigned nlocal;
	struct sent_score *sent; /* the leaderboard as last merged into Redis, by name */
	size_t sent_cap;         /* a power of two */
	struct world_score *scores;
	size_t scores_cap;
};

/* ---- Links -------------------------------------------------------------------------------- */

static void on_timer(evutil_socket_t fd, short what, void *arg);

static void set_up(struct cluster *c, const char *why)
{
	bool up = c->cmd.state == LINK_UP && c->rd.state == LINK_UP;
	uint64_t now = arena_now_ms();

	if (up == c->up)
		return;
	c->up = up;
	atomic_store(&c->m->shm->cluster_up, up ? 1u : 0u);
	if (up) {
		if (c->ever_up)
			log_notice(
			    "Redis at %s:%d is back after %.1f s: node %s rejoins the cluster",
			    c->host, c->port, (double)(now - c->down_since_ms) / 1000.0, c->node);
		else
			log_info("Connected to Redis at %s:%d as node %s", c->host, c->port,
			         c->node);
		c->ever_up = true;
		c->logged_error = false;
		c->resync = true; /* merge everything again */
		c->next_second_ms = now;
	} else {
		c->down_since_ms = now;
		log_warning("Redis at %s:%d unreachable (%s): this node serves its players alone "
		            "until it is back",
		            c->host, c->port, why);
	}
}

static void link_down(struct link *l, const char *why)
{
	uint64_t now = arena_now_ms();

	l->ac = NULL;
	l->state = LINK_DOWN;
	l->broken = false;
	l->inflight = 0;
	l->retry_ms = now + l->backoff_ms;
	l->backoff_ms = MIN(l->backoff_ms * 2, (uint32_t)BACKOFF_MAX_MS);
	if (l->c->stopping)
		return;
	if (l->c->up)
		set_up(l->c, why);
	else if (!l->c->ever_up && l->c->down_since_ms == 0) { /* never came up: say so once */
		l->c->down_since_ms = now;
		log_warning("Redis at %s:%d unreachable (%s): this node serves its players alone "
		            "until it answers",
		            l->c->host, l->c->port, why);
	}
}

/* Drop the link now (from the timer, never from one of its own callbacks). */
static void link_drop(struct link *l, const char *why)
{
	redisAsyncContext *ac = l->ac;

	link_down(l, why);
	if (ac)
		redisAsyncFree(ac); /* its callbacks run with no reply and only clean up */
}

static void link_ready(struct link *l)
{
	l->state = LINK_UP;
	l->backoff_ms = BACKOFF_MIN_MS;
	set_up(l->c, "");
}

/* The link of a callback, with the answer counted; NULL if that connection is already gone
 * (then the callback only cleans up). */
static struct link *answered(redisAsyncContext *ac)
{
	struct link *l = ac->data;

	if (!l || l->ac != ac)
		return NULL;
	if (l->inflight)
		l->inflight--;
	l->progress_ms = arena_now_ms();
	return l;
}

static int link_send(struct link *l, redisCallbackFn *fn, void *priv, int argc, const char **argv,
                     const size_t *lens)
{
	if (!l->ac)
		return -ENOTCONN;
	if (l->inflight >= INFLIGHT_MAX)
		return -ENOBUFS;
	if (redisAsyncCommandArgv(l->ac, fn, priv, argc, argv, lens) != REDIS_OK)
		return -EIO;
	if (l->inflight++ == 0)
		l->progress_ms = arena_now_ms();
	return 0;
}

static void error_answer(struct cluster *c, const char *what, const redisReply *r)
{
	if (c->logged_error)
		return;
	c->logged_error = true;
	log_warning("Redis refused %s: %.*s", what, r ? (int)r->len : 0, r ? r->str : "");
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct link *l = ac->data;

	if (status != REDIS_OK && l && l->ac == ac)
		link_down(l, ac->errstr[0] ? ac->errstr : "cannot connect");
}

static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct link *l = ac->data;

	if (l && l->ac == ac)
		link_down(l, status == REDIS_OK ? "connection closed" : ac->errstr);
}

static void on_first_answer(redisAsyncContext *ac, void *reply, void *priv);
static void on_stream_head(redisAsyncContext *ac, void *reply, void *priv);

static void link_open(struct link *l)
{
	static const char *ping[] = {"PING"};
	static const char *head[] = {"XREVRANGE", KEY_CHAT, "+", "-", "COUNT", "1"};
	redisAsyncContext *ac = redisAsyncConnect(l->c->host, l->c->port);

	if (!ac || ac->err) {
		char why[160];

		snprintf(why, sizeof(why), "%s", ac ? ac->errstr : "out of memory");
		if (ac)
			redisAsyncFree(ac);
		link_down(l, why);
		return;
	}
	ac->data = l;
	if (redisLibeventAttach(ac, l->c->m->base) != REDIS_OK) {
		redisAsyncFree(ac);
		link_down(l, "cannot watch the connection");
		return;
	}
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	l->ac = ac;
	l->state = LINK_OPENING;
	l->inflight = 0;
	/* The first answer makes the link up: a stopped Redis still completes the TCP connect. */
	if (l == &l->c->cmd)
		link_send(l, on_first_answer, l, 1, ping, NULL);
	else
		link_send(l, on_stream_head, l, 6, head, NULL);
}

/* ---- Workers ------------------------------------------------------------------------------- */

static int to_worker(struct cluster *c, unsigned slot, pid_t pid, unsigned type, const void *p,
                     size_t len)
{
	struct mworker *w = &c->m->workers[slot];

	if (!w->chan || !w->ready || (pid && w->pid != pid))
		return -ESRCH;
	return channel_send(w->chan, type, p, len, -1);
}

/* A chat line into its room on this node: any one worker can, the world is shared. */
static void deliver_chat(struct cluster *c, const struct ch_chat *m)
{
	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++)
		if (to_worker(c, i, 0, CH_CHAT_IN, m, sizeof(*m)) == 0)
			return;
}

static void to_all_workers(struct cluster *c, unsigned type, const void *p, size_t len)
{
	for (unsigned i = 0; i < ARENA_WORKERS_MAX; i++)
		to_worker(c, i, 0, type, p, len);
}

/* ---- Chat ---------------------------------------------------------------------------------- */

struct chat_out {
	struct cluster *c;
	uint64_t seq;
	struct ch_chat msg;
};

static void on_xadd(redisAsyncContext *ac, void *reply, void *priv)
{
	struct chat_out *o = priv;
	redisReply *r = reply;

	answered(ac);
	if (!r || r->type == REDIS_REPLY_ERROR) {
		/* Not in the stream (or not known to be): the room here still gets it, once. */
		struct cluster *c = o->c;

		if (r)
			error_answer(c, "a chat line", r);
		c->local_seqs[c->nlocal++ % LOCAL_SEQS] = o->seq;
		deliver_chat(c, &o->msg);
	}
	free(o);
}

static void chat_out(struct cluster *c, const struct ch_chat *m)
{
	struct chat_out *o = c->up ? malloc(sizeof(*o)) : NULL;
	char sid[16], seq[24];

	if (!o) {
		deliver_chat(c, m); /* Redis down: this node's room only */
		return;
	}
	o->c = c;
	o->seq = ++c->chat_seq;
	o->msg = *m;
	o->msg.room[sizeof(o->msg.room) - 1] = o->msg.sender[sizeof(o->msg.sender) - 1] =
	    o->msg.text[sizeof(o->msg.text) - 1] = '\0';
	snprintf(sid, sizeof(sid), "%" PRIu32, m->sender_id);
	snprintf(seq, sizeof(seq), "%" PRIu64, o->seq);
	const char *a[] = {"XADD", KEY_CHAT, "MAXLEN", "~",           CHAT_MAXLEN, "*",
	                   "node", c->node,  "seq",    seq,           "room",      o->msg.room,
	                   "sid",  sid,      "sender", o->msg.sender, "text",      o->msg.text};
	if (link_send(&c->cmd, on_xadd, o, (int)ELEMENTSOF(a), a, NULL) < 0) {
		free(o);
		deliver_chat(c, m);
	}
}

static bool is_str(const redisReply *r)
{
	return r && (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS);
}

/* Copy a string field of at most cap - 1 bytes; false if it is missing or longer. */
static bool take_str(const redisReply *r, char *dst, size_t cap)
{
	if (!is_str(r) || r->len >= cap)
		return false;
	memcpy(dst, r->str, r->len);
	dst[r->len] = '\0';
	return true;
}

static bool own_local_seq(const struct cluster *c, uint64_t seq)
{
	for (unsigned i = 0; i < MIN(c->nlocal, (unsigned)LOCAL_SEQS); i++)
		if (c->local_seqs[i] == seq)
			return true;
	return false;
}

/* One stream entry [id, [field, value, ...]] into its room here, unless already put in
 * locally or too old to replay. */
static void stream_entry(struct cluster *c, const redisReply *e, uint64_t oldest_ms)
{
	struct ch_chat m;
	char node[sizeof(c->node)] = "", seq[24] = "", sid[16] = "";
	const redisReply *f;

	if (!e || e->type != REDIS_REPLY_ARRAY || e->elements != 2 ||
	    !take_str(e->element[0], c->last_id, sizeof(c->last_id)))
		return;
	f = e->element[1];
	if (!f || f->type != REDIS_REPLY_ARRAY)
		return;
	memset(&m, 0, sizeof(m));
	for (size_t i = 0; i + 1 < f->elements; i += 2) {
		const redisReply *k = f->element[i], *v = f->element[i + 1];

		if (!is_str(k))
			continue;
		if (strcmp(k->str, "node") == 0)
			take_str(v, node, sizeof(node));
		else if (strcmp(k->str, "seq") == 0)
			take_str(v, seq, sizeof(seq));
		else if (strcmp(k->str, "room") == 0)
			take_str(v, m.room, sizeof(m.room));
		else if (strcmp(k->str, "sid") == 0)
			take_str(v, sid, sizeof(sid));
		else if (strcmp(k->str, "sender") == 0)
			take_str(v, m.sender, sizeof(m.sender));
		else if (strcmp(k->str, "text") == 0)
			take_str(v, m.text, sizeof(m.text));
	}
	if (strtoull(c->last_id, NULL, 10) < oldest_ms)
		return; /* from before an outage: stale news */
	if (strcmp(node, c->node) == 0 && own_local_seq(c, strtoull(seq, NULL, 10)))
		return; /* its XADD seemed to fail and the room here already has it */
	m.sender_id = (uint32_t)strtoul(sid, NULL, 10);
	if (m.room[0] && m.sender[0] && m.text[0]) /* the worker checks the rest */
		deliver_chat(c, &m);
}

static void on_xread(redisAsyncContext *ac, void *reply, void *priv);

static void read_next(struct link *l)
{
	const char *a[] = {"XREAD", "COUNT",   "256",    "BLOCK",
	                   "1000",  "STREAMS", KEY_CHAT, l->c->last_id};

	_Static_assert(READ_BLOCK_MS == 1000, "the BLOCK argument above");
	if (link_send(l, on_xread, l, (int)ELEMENTSOF(a), a, NULL) < 0)
		l->broken = true;
}

static void on_xread(redisAsyncContext *ac, void *reply, void *priv)
{
	struct link *l = answered(ac);
	redisReply *r = reply;

	if (!l || !r)
		return;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 1 && r->element[0] &&
	    r->element[0]->type == REDIS_REPLY_ARRAY && r->element[0]->elements == 2 &&
	    r->element[0]->element[1]->type == REDIS_REPLY_ARRAY) {
		const redisReply *entries = r->element[0]->element[1];
		uint64_t oldest = (uint64_t)time(NULL) * 1000u - CATCHUP_MS;

		for (size_t i = 0; i < entries->elements; i++)
			stream_entry(l->c, entries->element[i], oldest);
	} else if (r->type != REDIS_REPLY_NIL) {
		error_answer(l->c, "reading the chat stream", r);
		l->broken = true;
		return;
	}
	read_next(l);
}

/* The stream link's first answer: where the stream ends now, unless we know where we were. */
static void on_stream_head(redisAsyncContext *ac, void *reply, void *priv)
{
	struct link *l = answered(ac);
	redisReply *r = reply;

	if (!l || !r)
		return;
	if (r->type != REDIS_REPLY_ARRAY) {
		error_answer(l->c, "looking at the chat stream", r);
		l->broken = true;
		return;
	}
	if (!l->c->last_id[0] &&
	    (r->elements == 0 || r->element[0]->type != REDIS_REPLY_ARRAY ||
	     r->element[0]->elements != 2 ||
	     !take_str(r->element[0]->element[0], l->c->last_id, sizeof(l->c->last_id))))
		snprintf(l->c->last_id, sizeof(l->c->last_id), "0-0");
	link_ready(l);
	read_next(l);
}

static void on_first_answer(redisAsyncContext *ac, void *reply, void *priv)
{
	struct link *l = answered(ac);

	if (l && reply)
		link_ready(l);
}

/* ---- Leaderboard, presence, resume records ------------------------------------------------- */

/* Any answer that needs no more than a look for errors. */
static void on_plain(redisAsyncContext *ac, void *reply, void *priv)
{
	struct link *l = answered(ac);
	redisReply *r = reply;

	if (l && r && r->type == REDIS_REPLY_ERROR)
		error_answer(l->c, priv, r);
}

static uint64_t name_hash(const char *s)
{
	uint64_t h = 1469598103934665603u;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211u;
	return h;
}

/* Whether (name, score) differs from what Redis was last given; remembers it if so. */
static bool score_changed(struct cluster *c, const struct world_score *ws)
{
	size_t mask = c->sent_cap - 1;

	for (size_t i = name_hash(ws->name) & mask, k = 0; k < c->sent_cap;
	     i = (i + 1) & mask, k++) {
		struct sent_score *e = &c->sent[i];

		if (!e->name[0]) {
			memcpy(e->name, ws->name, sizeof(e->name));
			e->score = ws->score;
			return true;
		}
		if (strcmp(e->name, ws->name) == 0) {
			bool changed = e->score != ws->score;

			e->score = ws->score;
			return changed;
		}
	}
	return true; /* full: cannot remember, send it */
}

/* Merge the local best scores into the global sorted set; ZADD GT keeps each name's best. */
static void push_scores(struct cluster *c)
{
	const char *argv[3 + 2 * ZADD_BATCH] = {"ZADD", KEY_SCORES, "GT"};
	char nums[ZADD_BATCH][12];
	size_t n = 0, pairs = 0;
	bool failed = false;

	if (!c->scores || world_scores_export(c->m->world, c->scores, c->scores_cap, &n) < 0)
		return; /* a writer kept the table busy: next second */
	if (c->resync)
		memset(c->sent, 0, c->sent_cap * sizeof(*c->sent));
	c->resync = false;
	for (size_t i = 0; i < n; i++) {
		if (!score_changed(c, &c->scores[i]))
			continue;
		snprintf(nums[pairs], sizeof(nums[0]), "%" PRIu32, c->scores[i].score);
		argv[3 + 2 * pairs] = nums[pairs];
		argv[4 + 2 * pairs] = c->scores[i].name;
		if (++pairs == ZADD_BATCH || i + 1 == n) {
			failed |= link_send(&c->cmd, on_plain, "a leaderboard update",
			                    (int)(3 + 2 * pairs), argv, NULL) < 0;
			pairs = 0;
		}
	}
	if (pairs)
		failed |= link_send(&c->cmd, on_plain, "a leaderboard update", (int)(3 + 2 * pairs),
		                    argv, NULL) < 0;
	c->resync = failed; /* what was not sent is sent again next time */
}

static void on_board(redisAsyncContext *ac, void *reply, void *priv)
{
	struct link *l = answered(ac);
	redisReply *r = reply;
	struct ch_board b;

	if (!l || !r)
		return;
	if (r->type != REDIS_REPLY_ARRAY) {
		error_answer(l->c, "reading the leaderboard", r);
		return;
	}
	memset(&b, 0, sizeof(b));
	for (size_t i = 0; i + 1 < r->elements && b.board.n < ARENA_LEADERBOARD_MAX; i += 2) {
		struct arena_lb_entry *e = &b.board.entries[b.board.n];
		const redisReply *name = r->element[i], *score = r->element[i + 1];
		char num[24];
		double v;

		if (!take_str(name, e->name.s, sizeof(e->name.s)) || name->len == 0 ||
		    !arena_utf8_valid(name->str, name->len) || !take_str(score, num, sizeof(num)))
			continue; /* not written by arenad: skip it */
		v = strtod(num, NULL);
		e->name.len = (uint8_t)name->len;
		e->score = v <= 0 ? 0 : v >= (double)UINT32_MAX ? UINT32_MAX : (uint32_t)v;
		b.board.n++;
	}
	to_all_workers(l->c, CH_BOARD, &b, sizeof(b));
}

static void presence(struct cluster *c)
{
	struct shm_totals t;
	char key[160], players[24], rooms[24], clients[24], pid[24], now[24], old[24], ttl[8];
	uint64_t unix_ms = (uint64_t)time(NULL) * 1000u;

	shm_totals(c->m->shm, &t);
	snprintf(key, sizeof(key), "arena:node:%s", c->node);
	snprintf(players, sizeof(players), "%llu", t.players);
	snprintf(clients, sizeof(clients), "%llu", t.clients);
	snprintf(rooms, sizeof(rooms), "%u", world_rooms_open(c->m->world));
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	snprintf(now, sizeof(now), "%" PRIu64, unix_ms);
	snprintf(old, sizeof(old), "%" PRIu64, unix_ms - 2000u * PRESENCE_TTL_S);
	snprintf(ttl, sizeof(ttl), "%d", PRESENCE_TTL_S);
	const char *hset[] = {"HSET",  key,   "players", players, "clients", clients,
	                      "rooms", rooms, "pid",     pid,     "seen_ms", now};
	const char *expire[] = {"EXPIRE", key, ttl};
	const char *nodes[] = {"ZADD", KEY_NODES, now, c->node};
	const char *prune[] = {"ZREMRANGEBYSCORE", KEY_NODES, "-inf", old};
	link_send(&c->cmd, on_plain, "presence", (int)ELEMENTSOF(hset), hset, NULL);
	link_send(&c->cmd, on_plain, "presence", (int)ELEMENTSOF(expire), expire, NULL);
	link_send(&c->cmd, on_plain, "presence", (int)ELEMENTSOF(nodes), nodes, NULL);
	link_send(&c->cmd, on_plain, "presence", (int)ELEMENTSOF(prune), prune, NULL);
}

static void every_second(struct cluster *c)
{
	static const char *top[] = {"ZREVRANGE", KEY_SCORES, "0", "99", "WITHSCORES"};

	_Static_assert(ARENA_LEADERBOARD_MAX == 100, "the range above");
	push_scores(c);
	link_send(&c->cmd, on_board, NULL, (int)ELEMENTSOF(top), top, NULL);
	presence(c);
}

static void token_key(const uint8_t token[ARENA_TOKEN_LEN], char out[64])
{
	int n = snprintf(out, 64, "arena:tok:");

	for (unsigned i = 0; i < ARENA_TOKEN_LEN; i++)
		n += snprintf(out + n, (size_t)(64 - n), "%02x", token[i]);
}

static void publish_records(struct cluster *c, const struct ch_sessions *s)
{
	char ttl[16], pttl[16];

	snprintf(ttl, sizeof(ttl), "%u", c->m->cfg.resume_grace_ms / 1000u + 30u);
	snprintf(pttl, sizeof(pttl), "%u", 60u);
	for (uint32_t i = 0; i < MIN(s->n, (uint32_t)CH_SESSIONS_MAX); i++) {
		const struct ch_session_rec *rec = &s->rec[i];
		char key[64], val[24 + sizeof(c->node) + ARENA_NAME_MAX + 2],
		    pkey[16 + ARENA_NAME_MAX];
		char name[ARENA_NAME_MAX + 1];

		memcpy(name, rec->name, sizeof(name));
		name[ARENA_NAME_MAX] = '\0';
		if (!name[0])
			continue;
		token_key(rec->token, key);
		snprintf(val, sizeof(val), "%" PRIu32 " %s %s", rec->score, c->node, name);
		snprintf(pkey, sizeof(pkey), "arena:player:%s", name);
		const char *set[] = {"SET", key, val, "EX", ttl};
		const char *where[] = {"SET", pkey, c->node, "EX", pttl};
		link_send(&c->cmd, on_plain, "a resume record", 5, set, NULL);
		link_send(&c->cmd, on_plain, "presence", 5, where, NULL);
	}
}

/* Worker 0's list of the open rooms: arena:rooms:<node>, a hash room -> members, replaced
 * whole (built in a :next key, renamed when the last batch came), expiring like presence. */
static void rooms_presence(struct cluster *c, const struct ch_rooms *r)
{
	char key[160], next[168], members[CH_ROOMS_MAX][12], ttl[8];
	char names[CH_ROOMS_MAX][ARENA_ROOM_MAX + 1];
	const char *hset[2 + 2 * CH_ROOMS_MAX] = {"HSET", next};
	uint32_t n = MIN(r->n, (uint32_t)CH_ROOMS_MAX);

	snprintf(key, sizeof(key), "arena:rooms:%s", c->node);
	snprintf(next, sizeof(next), "%s:next", key);
	snprintf(ttl, sizeof(ttl), "%d", 3 * PRESENCE_TTL_S);
	const char *del_next[] = {"DEL", next}, *del[] = {"DEL", key};
	const char *rename[] = {"RENAME", next, key}, *expire[] = {"EXPIRE", key, ttl};
	if (r->first)
		link_send(&c->cmd, on_plain, "room presence", 2, del_next, NULL);
	for (uint32_t i = 0; i < n; i++) {
		memcpy(names[i], r->rows[i].name, sizeof(names[i]));
		names[i][ARENA_ROOM_MAX] = '\0';
		snprintf(members[i], sizeof(members[i]), "%" PRIu32, r->rows[i].members);
		hset[2 + 2 * i] = names[i][0] ? names[i] : "-";
		hset[3 + 2 * i] = members[i];
	}
	if (n)
		link_send(&c->cmd, on_plain, "room presence", (int)(2 + 2 * n), hset, NULL);
	if (r->last && (n || !r->first)) {
		link_send(&c->cmd, on_plain, "room presence", 3, rename, NULL);
		link_send(&c->cmd, on_plain, "room presence", 3, expire, NULL);
	} else if (r->last) {
		link_send(&c->cmd, on_plain, "room presence", 2, del, NULL);
	}
}

struct resume_ask {
	struct cluster *c;
	unsigned slot;
	pid_t pid;
	struct ch_resume q;
};

static void answer(struct cluster *c, unsigned slot, pid_t pid, struct ch_resume *q, bool found,
                   uint32_t score)
{
	q->found = found;
	q->score = found ? score : 0;
	to_worker(c, slot, pid, CH_RESUME_ANSWER, q, sizeof(*q));
}

static void on_resume_record(redisAsyncContext *ac, void *reply, void *priv)
{
	struct resume_ask *a = priv;
	redisReply *r = reply;
	unsigned long score = 0;
	bool found = false;

	answered(ac);
	if (r && r->type == REDIS_REPLY_STRING) {
		/* "score node name": the name must be the one HELLO gave. */
		char *end, *sp;

		score = strtoul(r->str, &end, 10);
		sp = *end == ' ' ? strchr(end + 1, ' ') : NULL;
		found = sp && score <= UINT32_MAX && strcmp(sp + 1, a->q.name) == 0;
	} else if (r && r->type == REDIS_REPLY_ERROR) {
		error_answer(a->c, "a resume lookup", r);
	}
	answer(a->c, a->slot, a->pid, &a->q, found, (uint32_t)score);
	free(a);
}

static void resume_ask(struct cluster *c, struct mworker *w, const struct ch_resume *q)
{
	struct resume_ask *a = c->up ? malloc(sizeof(*a)) : NULL;
	struct ch_resume copy = *q;
	char key[64];

	copy.name[ARENA_NAME_MAX] = '\0';
	if (!a) {
		answer(c, w->slot, w->pid, &copy, false, 0);
		return;
	}
	*a = (struct resume_ask){c, w->slot, w->pid, copy};
	token_key(q->token, key);
	const char *getdel[] = {"GETDEL", key}; /* a token resumes once */
	if (link_send(&c->cmd, on_resume_record, a, 2, getdel, NULL) < 0) {
		free(a);
		answer(c, w->slot, w->pid, &copy, false, 0);
	}
}

/* ---- The master's side --------------------------------------------------------------------- */

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct cluster *c = arg;
	uint64_t now = arena_now_ms();
	struct link *links[] = {&c->cmd, &c->rd};

	for (size_t i = 0; i < ELEMENTSOF(links); i++) {
		struct link *l = links[i];

		if (l->ac && l->broken)
			link_drop(l, "an answer that made no sense");
		else if (l->ac && l->inflight && now - l->progress_ms > l->timeout_ms)
			link_drop(l, "no answer within 2 s");
		else if (!l->ac && now >= l->retry_ms)
			link_open(l);
	}
	if (c->up && now >= c->next_second_ms) {
		c->next_second_ms = now + 1000;
		every_second(c);
	}
}

void cluster_worker_msg(struct cluster *c, struct mworker *w, const struct channel_msg *msg)
{
	if (!c)
		return;
	switch (msg->type) {
	case CH_CHAT_OUT:
		chat_out(c, msg->payload);
		break;
	case CH_SESSIONS:
		if (c->up)
			publish_records(c, msg->payload);
		break;
	case CH_RESUME_ASK:
		resume_ask(c, w, msg->payload);
		break;
	case CH_ROOMS:
		if (c->up)
			rooms_presence(c, msg->payload);
		break;
	default:
		break;
	}
}

int cluster_start(struct master *m, struct cluster **ret)
{
	const struct arena_listen *a = &m->cfg.redis;
	struct timeval tv = {.tv_sec = 0, .tv_usec = TIMER_MS * 1000};
	struct cluster *c = calloc(1, sizeof(*c));
	char host[64] = "localhost";

	if (!c)
		return -ENOMEM;
	c->m = m;
	if (a->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&a->addr;

		inet_ntop(AF_INET6, &s6->sin6_addr, c->host, sizeof(c->host));
		c->port = ntohs(s6->sin6_port);
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&a->addr;

		inet_ntop(AF_INET, &s4->sin_addr, c->host, sizeof(c->host));
		c->port = ntohs(s4->sin_port);
	}
	gethostname(host, sizeof(host) - 1);
	snprintf(c->node, sizeof(c->node), "%s/%s", host,
	         m->nlisteners ? m->listeners[0].name : "-");
	for (char *p = c->node; *p; p++)
		if (*p == ' ')
			*p = '_'; /* the resume record is "score node name" */
	c->scores_cap = world_scores_capacity(m->world);
	c->scores = calloc(c->scores_cap ? c->scores_cap : 1, sizeof(*c->scores));
	for (c->sent_cap = 64; c->sent_cap < 2 * c->scores_cap; c->sent_cap *= 2)
		;
	c->sent = calloc(c->sent_cap, sizeof(*c->sent));
	c->cmd = (struct link){.c = c,
	                       .what = "commands",
	                       .backoff_ms = BACKOFF_MIN_MS,
	                       .timeout_ms = ANSWER_TIMEOUT_MS};
	c->rd = (struct link){.c = c,
	                      .what = "chat stream",
	                      .backoff_ms = BACKOFF_MIN_MS,
	                      .timeout_ms = ANSWER_TIMEOUT_MS + READ_BLOCK_MS};
	c->ev_timer = event_new(m->base, -1, EV_PERSIST, on_timer, c);
	if (!c->scores || !c->sent || !c->ev_timer || event_add(c->ev_timer, &tv) < 0) {
		cluster_stop(c);
		return -ENOMEM;
	}
	atomic_store(&m->shm->cluster_up, 0u);
	link_open(&c->cmd);
	link_open(&c->rd);
	*ret = c;
	return 0;
}

void cluster_stop(struct cluster *c)
{
	if (!c)
		return;
	if (c->ev_timer)
		event_free(c->ev_timer);
	c->stopping = true;
	c->up = false; /* chat still in flight is put in locally by its callback */
	link_drop(&c->cmd, "stopping");
	link_drop(&c->rd, "stopping");
	atomic_store(&c->m->shm->cluster_up, 0u);
	free(c->scores);
	free(c->sent);
	free(c);
}

const char *cluster_node(const struct cluster *c)
{
	return c ? c->node : NULL;
}
