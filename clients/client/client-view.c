/* client-view.c: arena-client's screen: status line, room grid, chat, notice and help lines.
 *
 * view_render() draws the whole screen from the client state into a buffer with plain ANSI
 * escapes (cursor positioning, SGR colours, erase to end of line), so the terminal sees one
 * write per frame. The grid is a viewport over the room plus its border, centred on the
 * player and clipped to the space the terminal leaves; it is built in a scratch array so each
 * cell is looked up once. Players are letters/digits derived from their id, the player itself
 * in reverse video, gems '*'. Every string from the network goes through text_term(), which
 * also bounds its width, so nothing the server sends can move the cursor or change colours.
 */
#include "client.h"

#include <event2/buffer.h>
#include <stdlib.h>
#include <string.h>

#define CHAT_ROWS 5

enum cell { C_OUT, C_BORDER, C_EMPTY, C_GEM, C_PLAYER, C_SELF };

static const char *const cell_sgr[] = {
    [C_OUT] = "\033[0m",      [C_BORDER] = "\033[0;2m",    [C_EMPTY] = "\033[0;2m",
    [C_GEM] = "\033[0;1;33m", [C_PLAYER] = "\033[0;1;36m", [C_SELF] = "\033[0;1;7m",
};

static char player_char(uint32_t id)
{
	static const char set[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	return set[id % (sizeof(set) - 1)];
}

static void goto_row(struct evbuffer *out, int row)
{
	evbuffer_add_printf(out, "\033[%d;1H\033[0m", row);
}

/* A line of at most cols columns, text already safe, then erase the rest. */
static bool utf8; /* the terminal takes UTF-8: copied from the client by view_render() */

static void line_text(struct evbuffer *out, int row, const char *sgr, const char *s, int cols)
{
	char buf[1024];
	goto_row(out, row);
	text_term(s, strlen(s), utf8, (size_t)cols, buf, sizeof(buf));
	evbuffer_add_printf(out, "%s%s\033[K\033[0m", sgr, buf);
}

static bool self_pos(const struct client *c, int *x, int *y)
{
	*x = c->joined.x;
	*y = c->joined.y;
	if (!c->have_snap)
		return false;
	for (unsigned i = 0; i < c->snap.nplayers; i++) {
		if (c->snap.players[i].id == c->welcome.player_id) {
			*x = c->snap.players[i].x;
			*y = c->snap.players[i].y;
			return true;
		}
	}
	return false;
}

static int self_score(const struct client *c)
{
	int x, y;
	if (!self_pos(c, &x, &y))
		return -1;
	for (unsigned i = 0; i < c->snap.nplayers; i++)
		if (c->snap.players[i].id == c->welcome.player_id)
			return (int)c->snap.players[i].score;
	return -1;
}

static void draw_status(const struct client *c, struct evbuffer *out, int cols)
{
	char room[256], line[512], ping[32];
	if (c->in_room) {
		char name[4 * ARENA_ROOM_MAX + 1];
		text_term(c->joined.room.s, c->joined.room.len, utf8, ARENA_ROOM_MAX, name,
		          sizeof(name));
		snprintf(room, sizeof(room), "room %s", name);
	} else {
		snprintf(room, sizeof(room), "%s", c->welcomed ? "lobby" : "connecting");
	}
	if (c->rtt_ms >= 0)
		snprintf(ping, sizeof(ping), "%d ms", c->rtt_ms);
	else
		snprintf(ping, sizeof(ping), "-");
	int score = self_score(c);
	snprintf(line, sizeof(line), " arena | %s #%u | %s | tick %u | score %d | ping %s ",
	         c->name, c->welcome.player_id, room, c->have_snap ? c->snap.tick : 0,
	         score < 0 ? 0 : score, ping);
	line_text(out, 1, "\033[7m", line, cols);
}

/* The grid viewport in rows [top, top + h), all columns. */
static int draw_grid(const struct client *c, struct evbuffer *out, int top, int h, int cols)
{
	int W = c->joined.width, H = c->joined.height, sx, sy;
	int vw = cols < W + 2 ? cols : W + 2, vh = h < H + 2 ? h : H + 2;
	self_pos(c, &sx, &sy);
	/* viewport over grid coordinates -1..W (the border included), centred on the player */
	int ox = sx - vw / 2, oy = sy - vh / 2;
	if (ox > W + 1 - vw)
		ox = W + 1 - vw;
	if (ox < -1)
		ox = -1;
	if (oy > H + 1 - vh)
		oy = H + 1 - vh;
	if (oy < -1)
		oy = -1;
	uint8_t *kind = malloc((size_t)vw * (size_t)vh);
	char *ch = malloc((size_t)vw * (size_t)vh);
	if (!kind || !ch) {
		free(kind);
		free(ch);
		return -ENOMEM;
	}
	for (int r = 0; r < vh; r++) {
		for (int k = 0; k < vw; k++) {
			int gx = ox + k, gy = oy + r;
			bool border = gx == -1 || gx == W || gy == -1 || gy == H;
			kind[r * vw + k] = border ? C_BORDER : C_EMPTY;
			ch[r * vw + k] = border ? '#' : '.';
		}
	}
	if (c->have_snap) {
		for (unsigned i = 0; i < c->snap.ngems; i++) {
			int k = c->snap.gems[i].x - ox, r = c->snap.gems[i].y - oy;
			if (k >= 0 && k < vw && r >= 0 && r < vh && c->snap.gems[i].x < W &&
			    c->snap.gems[i].y < H) {
				kind[r * vw + k] = C_GEM;
				ch[r * vw + k] = '*';
			}
		}
		for (unsigned i = 0; i < c->snap.nplayers; i++) {
			const struct arena_snap_player *p = &c->snap.players[i];
			int k = p->x - ox, r = p->y - oy;
			if (k < 0 || k >= vw || r < 0 || r >= vh || p->x >= W || p->y >= H)
				continue;
			kind[r * vw + k] = p->id == c->welcome.player_id ? C_SELF : C_PLAYER;
			ch[r * vw + k] = player_char(p->id);
		}
	}
	for (int r = 0; r < h; r++) {
		goto_row(out, top + r);
		int last = -1;
		for (int k = 0; r < vh && k < vw; k++) {
			int kd = kind[r * vw + k];
			if (kd != last)
				evbuffer_add(out, cell_sgr[kd], strlen(cell_sgr[kd]));
			last = kd;
			evbuffer_add(out, &ch[r * vw + k], 1);
		}
		evbuffer_add_printf(out, "\033[0m\033[K");
	}
	free(kind);
	free(ch);
	return 0;
}

static void draw_lobby(const struct client *c, struct evbuffer *out, int top, int h, int cols)
{
	const char *text = c->welcomed ? "You are in the lobby. Press j to join a room by name "
	                                 "(an empty name finds a public room)."
	                               : "Waiting for the server's WELCOME...";
	for (int r = 0; r < h; r++) {
		if (r == h / 2)
			line_text(out, top + r, "", text, cols);
		else
			line_text(out, top + r, "", "", cols);
	}
}

static void draw_leaderboard(const struct client *c, struct evbuffer *out, int top, int h, int cols)
{
	line_text(out, top, "\033[1m", "Leaderboard (b to close)", cols);
	for (int r = 1; r < h; r++) {
		char name[4 * ARENA_NAME_MAX + 1], line[256] = "";
		unsigned i = (unsigned)r - 1;
		if (i < c->lb.n) {
			text_term(c->lb.entries[i].name.s, c->lb.entries[i].name.len, utf8,
			          ARENA_NAME_MAX, name, sizeof(name));
			snprintf(line, sizeof(line), "%3u. %-32s %10u", i + 1, name,
			         c->lb.entries[i].score);
		} else if (i == 0 && c->lb.n == 0) {
			snprintf(line, sizeof(line), "(no scores yet)");
		}
		line_text(out, top + r, "", line, cols);
	}
}

static void draw_chat(const struct client *c, struct evbuffer *out, int top, int h, int cols)
{
	unsigned have = c->nchat < CLIENT_CHAT_LINES ? c->nchat : CLIENT_CHAT_LINES;
	unsigned show = have < (unsigned)h ? have : (unsigned)h;
	for (int r = 0; r < h; r++) {
		int idx = r - (h - (int)show); /* bottom-aligned: newest last */
		if (idx < 0) {
			line_text(out, top + r, "", "", cols);
			continue;
		}
		const struct client_chat_line *l =
		    &c->chat[(c->nchat - show + (unsigned)idx) % CLIENT_CHAT_LINES];
		char name[4 * ARENA_NAME_MAX + 1], text[4 * ARENA_CHAT_MAX + 1];
		size_t used = text_term(l->sender, strlen(l->sender), utf8, 16, name, sizeof(name));
		size_t room = (size_t)cols > used + 2 ? (size_t)cols - used - 2 : 0;
		text_term(l->text, strlen(l->text), utf8, room, text, sizeof(text));
		goto_row(out, top + r);
		evbuffer_add_printf(out, "%s%s\033[0m: %s\033[K",
		                    l->sender_id == c->welcome.player_id ? "\033[1m" : "\033[36m",
		                    name, text);
	}
}

static void draw_prompt(struct evbuffer *out, int row, const char *label, const char *text,
                        int cols)
{
	size_t len = strlen(text), lab = strlen(label);
	size_t avail = (size_t)cols > lab + 1 ? (size_t)cols - lab - 1 : 1;
	const char *p = text;
	if (len > avail) { /* show the tail, starting on a character boundary */
		p = text + len - avail;
		while (*p && ((unsigned char)*p & 0xc0) == 0x80)
			p++;
	}
	char buf[4 * ARENA_CHAT_MAX + 1];
	text_term(p, strlen(p), utf8, avail, buf, sizeof(buf));
	goto_row(out, row);
	evbuffer_add_printf(out, "\033[1m%s\033[0m%s\033[K\033[?25h", label, buf);
}

int view_render(const struct client *c, int rows, int cols, const char *prompt_label,
                const char *prompt, struct evbuffer *out)
{
	static const char help[] = "arrows/wasd/HJKL move  t chat  j join  l leave  b leaderboard  "
	                           "p ping  q quit";
	utf8 = c->utf8;
	if (cols > 1000)
		cols = 1000;
	if (rows > 1000)
		rows = 1000;
	evbuffer_add_printf(out, "\033[?25l");
	if (rows < 6 || cols < 20) {
		evbuffer_add_printf(out, "\033[H\033[2J\033[0mterminal too small");
		return 0;
	}
	int chat = rows - 4 >= 2 * CHAT_ROWS ? CHAT_ROWS : (rows - 4) / 2;
	int top = 2, h = rows - 3 - chat;
	draw_status(c, out, cols);
	if (c->show_lb)
		draw_leaderboard(c, out, top, h, cols);
	else if (c->in_room && draw_grid(c, out, top, h, cols) < 0)
		return -ENOMEM;
	else if (!c->in_room)
		draw_lobby(c, out, top, h, cols);
	draw_chat(c, out, top + h, chat, cols);
	line_text(out, rows, "\033[2m", help, cols);
	if (prompt)
		draw_prompt(out, rows - 1, prompt_label ? prompt_label : "> ", prompt, cols);
	else
		line_text(out, rows - 1, "", c->msg, cols);
	return 0;
}
