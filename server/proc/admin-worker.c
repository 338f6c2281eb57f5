/* admin-worker.c: a worker's half of the operator's requests (CH_ADMIN from the master).
 *
 * The master never takes a world lock, so whatever needs one, or needs the sessions, is done
 * here: listings are written (text columns or JSON) into the memory file the master passed
 * with the message, which the master then streams to the admin client at that client's pace;
 * a kick looks for the player among this worker's sessions; a notice goes into the rooms' chat
 * rings, from where every worker's tick delivers it. Writing into a memory file is bounded by
 * the world's size and never waits on a client.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "admin.h"
#include "session.h"
#include "sessions.h"
#include "world.h"

struct out {
	FILE *f;
	bool json;
	unsigned rows;
};

void admin_json_quote(const char *s, char *out, size_t cap)
{
	size_t o = 0;

	if (cap < 3) {
		if (cap)
			out[0] = '\0';
		return;
	}
	out[o++] = '"';
	for (; *s && o + 8 < cap; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			out[o++] = '\\';
			out[o++] = (char)ch;
		} else if (ch < 0x20) {
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", ch);
		} else {
			out[o++] = (char)ch;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
}

/* s as a JSON string. */
static void json_str(FILE *f, const char *s)
{
	char q[6 * ARENA_ROOM_MAX + 8]; /* names and room names: at most 32 bytes */

	admin_json_quote(s, q, sizeof(q));
	fputs(q, f);
}

static int player_row(const struct world_player_row *p, void *arg)
{
	struct out *o = arg;

	if (o->json) {
		fputs(o->rows ? ",\n  {" : "\n  {", o->f);
		fprintf(o->f, "\"id\": %u, \"name\": ", p->id);
		json_str(o->f, p->name);
		fputs(", \"room\": ", o->f);
		if (p->room == WORLD_NO_ROOM)
			fputs("null", o->f);
		else
			json_str(o->f, p->room_name);
		fprintf(o->f, ", \"score\": %u, \"worker\": %u, \"connected\": %s}", p->score,
		        p->slot, p->attached ? "true" : "false");
	} else {
		fprintf(o->f, "%-10u %-32s %-32s %8u %6u %s\n", p->id, p->name,
		        p->room == WORLD_NO_ROOM ? "-" : p->room_name, p->score, p->slot,
		        p->attached ? "connected" : "resumable");
	}
	o->rows++;
	return ferror(o->f) ? -EIO : 0;
}

static int room_row(const struct world_room_row *r, void *arg)
{
	struct out *o = arg;

	if (o->json) {
		fputs(o->rows ? ",\n  {" : "\n  {", o->f);
		fprintf(o->f, "\"id\": %u, \"name\": ", r->room);
		json_str(o->f, r->name);
		fprintf(o->f, ", \"players\": %u, \"resumable\": %u, \"public\": %s}", r->members,
		        r->resumable, r->is_public ? "true" : "false");
	} else {
		fprintf(o->f, "%-6u %-32s %7u %9u %s\n", r->room, r->name, r->members, r->resumable,
		        r->is_public ? "public" : "named");
	}
	o->rows++;
	return ferror(o->f) ? -EIO : 0;
}

static int listing(struct world *w, const struct ch_admin *a, int fd)
{
	int dfd = dup(fd);
	struct out o = {.json = a->json != 0};
	int r;

	if (dfd < 0)
		return -errno;
	o.f = fdopen(dfd, "w");
	if (!o.f) {
		close(dfd);
		return -errno;
	}
	bool players = a->op == CH_ADMIN_PLAYERS;
	if (o.json)
		fprintf(o.f, "{\"%s\": [", players ? "players" : "rooms");
	else if (players)
		fprintf(o.f, "%-10s %-32s %-32s %8s %6s %s\n", "ID", "NAME", "ROOM", "SCORE",
		        "WORKER", "STATE");
	else
		fprintf(o.f, "%-6s %-32s %7s %9s %s\n", "ID", "NAME", "PLAYERS", "RESUMABLE",
		        "KIND");
	r = players ? world_list_players(w, a->room, player_row, &o)
	            : world_list_rooms(w, room_row, &o);
	if (o.json)
		fputs(o.rows ? "\n]}\n" : "]}\n", o.f);
	if (fclose(o.f) != 0 && r == 0)
		r = -EIO;
	return r < 0 ? r : (int)o.rows;
}

static int kick(struct sessions *ss, const struct ch_admin *a)
{
	size_t n;
	struct session **arr = sessions_array(ss, &n);
	int kicked = 0;

	for (size_t i = 0; i < n; i++) {
		if (arr[i]->welcomed && arr[i]->player_id == a->player_id) {
			session_bye(arr[i], ARENA_BYE_KICKED, a->text[0] ? a->text : "kicked");
			kicked++;
		}
	}
	return kicked;
}

int admin_worker_run(struct world *w, struct sessions *ss, const struct ch_admin *a, int fd)
{
	unsigned rooms = 0;
	int r;

	if (memchr(a->room, '\0', sizeof(a->room)) == NULL ||
	    memchr(a->text, '\0', sizeof(a->text)) == NULL)
		return -EINVAL;
	switch (a->op) {
	case CH_ADMIN_PLAYERS:
	case CH_ADMIN_ROOMS:
		return fd < 0 ? -EBADF : listing(w, a, fd);
	case CH_ADMIN_KICK:
		return kick(ss, a);
	case CH_ADMIN_NOTICE:
		r = world_announce(w, a->room, a->text, strlen(a->text), &rooms);
		return r < 0 ? r : (int)rooms;
	default:
		return -EOPNOTSUPP;
	}
}
