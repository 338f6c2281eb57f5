/* gen-corpus.c: writes (or checks) the decoder fuzzer's seed corpus,
 * protocol/tests/corpus/decoder/.
 *
 * Every seed is a raw byte stream as it would arrive on a socket. Valid frames and multi-frame
 * sessions are produced with arena_encode(), so the corpus follows the codec when the wire format
 * changes; malformed seeds are valid frames corrupted at a known offset, one per error class.
 * `gen-corpus DIR` (re)writes the files; `gen-corpus --check DIR` exits 1 if any file in DIR is
 * missing, different, or not produced by this program, which keeps the checked-in corpus honest.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena_proto.h"

#define SEED_MAX  (16 * ARENA_FRAME_MAX)
#define SEEDS_MAX 64

struct seed {
	const char *name;
	size_t len;
	uint8_t *b;
};

static struct seed seeds[SEEDS_MAX];
static size_t nseeds;
static struct arena_msg msg; /* scratch message, large (LEADERBOARD) so not on the stack */

static void die(const char *what)
{
	fprintf(stderr, "gen-corpus: %s\n", what);
	exit(2);
}

static struct seed *seed_new(const char *name)
{
	struct seed *s;

	if (nseeds == SEEDS_MAX)
		die("too many seeds");
	s = &seeds[nseeds++];
	s->name = name;
	s->len = 0;
	s->b = malloc(SEED_MAX);
	if (!s->b)
		die("out of memory");
	return s;
}

/* Append the frame of `msg` to seed s. */
static void add(struct seed *s)
{
	ssize_t n = arena_encode(&msg, s->b + s->len, SEED_MAX - s->len);

	if (n < 0) {
		fprintf(stderr, "gen-corpus: cannot encode %s: %s\n", arena_msg_type_name(msg.type),
		        strerror((int)-n));
		exit(2);
	}
	s->len += (size_t)n;
}

/* Rewrite the length field of the frame starting at s->b[off] to cover up to the seed's end. */
static void fix_len(struct seed *s, size_t off)
{
	size_t plen = s->len - off - ARENA_HEADER_SIZE;

	s->b[off] = (uint8_t)(plen >> 8);
	s->b[off + 1] = (uint8_t)plen;
}

static void str32(struct arena_str32 *d, const char *s)
{
	d->len = (uint8_t)strlen(s);
	memcpy(d->s, s, d->len + 1u);
}

static void text(struct arena_text *d, const char *s)
{
	d->len = (uint8_t)strlen(s);
	memcpy(d->s, s, d->len + 1u);
}

static void set(uint8_t type)
{
	memset(&msg, 0, sizeof(msg));
	msg.type = type;
}

/* One message of each type (variant 0: small, variant 1: large), in the given seed. */
static void put_type(struct seed *s, uint8_t type, int big)
{
	set(type);
	switch (type) {
	case ARENA_HELLO:
		msg.u.hello.version = ARENA_PROTO_VERSION;
		str32(&msg.u.hello.name, big ? "😀 a name of 32 bytes, ok 😀" : "ann");
		if (big)
			memset(msg.u.hello.token, 0xa5, ARENA_TOKEN_LEN);
		break;
	case ARENA_JOIN:
		str32(&msg.u.join.room, big ? "Zürich-north" : "");
		break;
	case ARENA_MOVE:
		msg.u.move.seq = big ? 0xfffffffeu : 1;
		msg.u.move.dx = (int8_t)(big ? -1 : 1);
		msg.u.move.dy = 0;
		break;
	case ARENA_CHAT:
		text(&msg.u.chat.text, big ? "héllo wörld, ✓ a chat line with some UTF-8 🎮" : "hi");
		break;
	case ARENA_PING:
	case ARENA_PONG:
		msg.u.ping.stamp = big ? 0x0102030405060708ull : 42;
		break;
	case ARENA_WELCOME:
		msg.u.welcome = (struct arena_welcome){
		    .player_id = big ? 123456 : 1,
		    .resume = (uint8_t)(big ? ARENA_RESUME_OK : ARENA_RESUME_NONE),
		    .tick_rate = 20,
		    .max_payload = ARENA_CLIENT_PAYLOAD_DEFAULT,
		    .input_rate = 30,
		    .chat_rate = 5,
		    .idle_timeout = 60,
		};
		memset(msg.u.welcome.token, 0x3c, ARENA_TOKEN_LEN);
		break;
	case ARENA_JOINED:
		msg.u.joined = (struct arena_joined){
		    .room_id = 7, .width = 64, .height = 48, .capacity = 16, .x = 10, .y = 47};
		str32(&msg.u.joined.room, big ? "Zürich-north" : "r1");
		break;
	case ARENA_SNAPSHOT:
		msg.u.snapshot.tick = 1000;
		msg.u.snapshot.ack_seq = 17;
		msg.u.snapshot.room_id = 7;
		msg.u.snapshot.nplayers = (uint8_t)(big ? ARENA_SNAP_PLAYERS_MAX : 2);
		for (unsigned i = 0; i < msg.u.snapshot.nplayers; i++)
			msg.u.snapshot.players[i] = (struct arena_snap_player){
			    .id = i + 1, .x = (uint16_t)i, .y = (uint16_t)(i * 2), .score = i * 10};
		msg.u.snapshot.ngems = (uint8_t)(big ? ARENA_SNAP_GEMS_MAX : 1);
		for (unsigned i = 0; i < msg.u.snapshot.ngems; i++)
			msg.u.snapshot.gems[i] = (struct arena_gem){(uint16_t)(i + 3), 5};
		break;
	case ARENA_CHAT_MSG:
		msg.u.chat_msg.sender_id = 9;
		str32(&msg.u.chat_msg.sender, "bob");
		str32(&msg.u.chat_msg.room, "r1");
		text(&msg.u.chat_msg.text, big ? "a longer line of chat, ✓ with UTF-8" : "gg");
		break;
	case ARENA_LEADERBOARD:
		msg.u.leaderboard.n = (uint8_t)(big ? ARENA_LEADERBOARD_MAX : 3);
		for (unsigned i = 0; i < msg.u.leaderboard.n; i++) {
			str32(&msg.u.leaderboard.entries[i].name, i % 2 ? "Ünïcødé" : "player");
			msg.u.leaderboard.entries[i].score = 1000 - i;
		}
		break;
	case ARENA_ERROR:
		msg.u.error.code = ARENA_ERR_ROOM_FULL;
		text(&msg.u.error.text, big ? "room is full" : "");
		break;
	case ARENA_BYE:
		msg.u.bye.reason = (uint8_t)(big ? ARENA_BYE_PROTOCOL_ERROR : ARENA_BYE_SHUTDOWN);
		text(&msg.u.bye.text, big ? "protocol error" : "");
		break;
	default: /* LEAVE, LEFT, LEADERBOARD_REQ: no fields */
		break;
	}
	add(s);
}

static const struct {
	uint8_t type;
	const char *name[2];
} singles[] = {
    {ARENA_HELLO, {"c-hello", "c-hello-resume"}},
    {ARENA_JOIN, {"c-join-matchmaking", "c-join-named"}},
    {ARENA_LEAVE, {"c-leave", NULL}},
    {ARENA_MOVE, {"c-move", "c-move-seqmax"}},
    {ARENA_CHAT, {"c-chat", "c-chat-utf8"}},
    {ARENA_PING, {"c-ping", NULL}},
    {ARENA_LEADERBOARD_REQ, {"c-leaderboard-req", NULL}},
    {ARENA_WELCOME, {"s-welcome", "s-welcome-resumed"}},
    {ARENA_JOINED, {"s-joined", "s-joined-utf8"}},
    {ARENA_LEFT, {"s-left", NULL}},
    {ARENA_SNAPSHOT, {"s-snapshot", "s-snapshot-full"}},
    {ARENA_CHAT_MSG, {"s-chat-msg", "s-chat-msg-long"}},
    {ARENA_PONG, {"s-pong", NULL}},
    {ARENA_LEADERBOARD, {"s-leaderboard", "s-leaderboard-full"}},
    {ARENA_ERROR, {"s-error", "s-error-room-full"}},
    {ARENA_BYE, {"s-bye", "s-bye-protocol"}},
};

static void build(void)
{
	struct seed *s;

	for (size_t i = 0; i < sizeof(singles) / sizeof(singles[0]); i++)
		for (int big = 0; big < 2; big++)
			if (singles[i].name[big])
				put_type(seed_new(singles[i].name[big]), singles[i].type, big);

	/* Whole sessions, each side, as a client or server decoder would see them. */
	s = seed_new("c-stream-session");
	put_type(s, ARENA_HELLO, 0);
	put_type(s, ARENA_JOIN, 1);
	for (int i = 0; i < 4; i++)
		put_type(s, ARENA_MOVE, i % 2);
	put_type(s, ARENA_CHAT, 1);
	put_type(s, ARENA_PING, 0);
	put_type(s, ARENA_LEADERBOARD_REQ, 0);
	put_type(s, ARENA_LEAVE, 0);
	s = seed_new("s-stream-session");
	put_type(s, ARENA_WELCOME, 0);
	put_type(s, ARENA_JOINED, 0);
	put_type(s, ARENA_SNAPSHOT, 0);
	put_type(s, ARENA_CHAT_MSG, 0);
	put_type(s, ARENA_SNAPSHOT, 1);
	put_type(s, ARENA_PONG, 0);
	put_type(s, ARENA_LEADERBOARD, 0);
	put_type(s, ARENA_LEFT, 0);
	put_type(s, ARENA_ERROR, 1);
	put_type(s, ARENA_BYE, 1);

	/* One seed per malformed class, each a valid frame corrupted on purpose. */
	s = seed_new("bad-truncated-move");
	put_type(s, ARENA_MOVE, 0);
	s->len -= 1;
	fix_len(s, 0);
	s = seed_new("bad-oversize");
	put_type(s, ARENA_CHAT, 0);
	s->b[0] = 0xff;
	s = seed_new("bad-unknown-type");
	put_type(s, ARENA_LEAVE, 0);
	s->b[2] = 0x42;
	s = seed_new("bad-wrong-direction");
	put_type(s, ARENA_PING, 0);
	put_type(s, ARENA_PONG, 0);
	s = seed_new("bad-utf8-overlong");
	put_type(s, ARENA_HELLO, 0); /* name "ann" at payload offset 3 */
	memcpy(s->b + ARENA_HEADER_SIZE + 3, "\xc0\xaf", 2);
	s = seed_new("bad-utf8-surrogate");
	put_type(s, ARENA_CHAT, 0); /* text "hi", then a surrogate in its place */
	s->len -= 2;
	memcpy(s->b + s->len, "\xed\xa0\x80", 3);
	s->len += 3;
	s->b[ARENA_HEADER_SIZE] = 3;
	fix_len(s, 0);
	s = seed_new("bad-range-dx");
	put_type(s, ARENA_MOVE, 0);
	s->b[ARENA_HEADER_SIZE + 4] = 2;
	s = seed_new("bad-range-nplayers");
	put_type(s, ARENA_SNAPSHOT, 0);
	s->b[ARENA_HEADER_SIZE + 8 + 2] = ARENA_SNAP_PLAYERS_MAX + 1;
	s = seed_new("bad-trailing-leave");
	put_type(s, ARENA_LEAVE, 0);
	s->b[s->len++] = 0;
	fix_len(s, 0);
	s = seed_new("bad-stream-garbage-after-valid");
	put_type(s, ARENA_HELLO, 1);
	put_type(s, ARENA_JOIN, 0);
	memcpy(s->b + s->len, "GET / HTTP/1.1\r\n\r\n", 18);
	s->len += 18;
}

static int write_all(const char *path, const uint8_t *b, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	while (len > 0) {
		ssize_t n = write(fd, b, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? -errno : -EIO;

			close(fd);
			return e;
		}
		b += n;
		len -= (size_t)n;
	}
	return close(fd) < 0 ? -errno : 0;
}

/* 0 if the file holds exactly b[0..len), 1 if it differs or is missing. */
static int same_file(const char *path, const uint8_t *b, size_t len)
{
	static uint8_t got[SEED_MAX + 1];
	size_t have = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return 1;
	while (have < sizeof(got)) {
		ssize_t n = read(fd, got + have, sizeof(got) - have);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		have += (size_t)n;
	}
	close(fd);
	return have == len && memcmp(got, b, len) == 0 ? 0 : 1;
}

/* 1 if the directory holds a file that is not one of the seeds. */
static int stray_files(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int stray = 0;

	if (!d)
		return 1;
	while ((e = readdir(d))) {
		size_t i;

		if (e->d_name[0] == '.')
			continue;
		for (i = 0; i < nseeds; i++) {
			size_t n = strlen(seeds[i].name);

			if (strncmp(e->d_name, seeds[i].name, n) == 0 &&
			    !strcmp(e->d_name + n, ".bin"))
				break;
		}
		if (i == nseeds) {
			fprintf(stderr, "gen-corpus: %s/%s is not generated\n", dir, e->d_name);
			stray = 1;
		}
	}
	closedir(d);
	return stray;
}

int main(int argc, char **argv)
{
	int check = argc == 3 && !strcmp(argv[1], "--check");
	const char *dir = argv[argc - 1];
	char path[4096];
	int bad = 0;

	if (argc != 2 && !check) {
		fprintf(stderr, "usage: gen-corpus [--check] DIR\n");
		return 2;
	}
	build();
	for (size_t i = 0; i < nseeds; i++) {
		int r;

		if (snprintf(path, sizeof(path), "%s/%s.bin", dir, seeds[i].name) >=
		    (int)sizeof(path))
			die("path too long");
		if (check) {
			if (same_file(path, seeds[i].b, seeds[i].len)) {
				fprintf(stderr, "gen-corpus: %s is missing or stale\n", path);
				bad = 1;
			}
		} else if ((r = write_all(path, seeds[i].b, seeds[i].len)) < 0) {
			fprintf(stderr, "gen-corpus: %s: %s\n", path, strerror(-r));
			return 2;
		}
	}
	if (check && stray_files(dir))
		bad = 1;
	for (size_t i = 0; i < nseeds; i++)
		free(seeds[i].b);
	if (!check)
		printf("gen-corpus: wrote %zu seeds to %s\n", nseeds, dir);
	return bad;
}
