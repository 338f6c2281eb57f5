/* config.c: arenad's configuration loader: the INI file (via libinih), flags, checks.
 *
 * Driven by the key table of keys.c (section, type, storage, range of every key), so loading,
 * messages and suggestions cannot disagree with the dump. A load works on a private copy
 * (defaults, then the file, then the flags, then cross-field checks) and copies it out only
 * when everything passed.
 *
 * libinih is used through ini_parse_stream() with our own line reader. The reader numbers the
 * lines (libinih's handler gets no line number in Debian's build), rejects a line that would not
 * fit libinih's fixed line buffer instead of letting it be split silently, validates section
 * headers (so an empty misspelt section is still caught), and tells the handler whether a line
 * is indented, which libinih treats as the continuation of the previous key's value. Only
 * `listen` may continue on indented lines; anywhere else that is an error. Parsing stops at the
 * first error; a syntax error libinih reports on an earlier line wins over ours.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "arena_config.h"
#include "config-internal.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Everything one load works on. */
struct parse_state {
	const char *name; /* file name for messages */
	const char *text; /* whole input, NUL-free */
	size_t len, pos;
	unsigned line;         /* number of the line last handed to libinih */
	unsigned max_line_len; /* longest accepted line, terminator excluded */
	bool indented;         /* that line starts with a blank */
	bool have_prev;    /* libinih remembers a previous key (an indented line continues it) */
	int prev_key;      /* table index of that key, -1 if unknown */
	int err;           /* first error (negative errno), 0 if none */
	unsigned err_line; /* its line, 0 if not tied to a line */
	struct arena_config_error *out;
	struct arena_config cfg;
	unsigned set_line[CFG_NKEYS]; /* where each key was set, 0 = not in the file */
};

/* Record the first error as "<name>:<line>: <message>" (or "<name>: <message>" for line 0). */
__attribute__((format(printf, 4, 5))) static void fail(struct parse_state *st, unsigned line,
                                                       int err, const char *fmt, ...)
{
	char name[256];
	va_list ap;
	int n;

	if (st->err)
		return;
	st->err = err;
	st->err_line = line;
	cfg_quote(st->name, name, sizeof(name));
	if (line)
		n = snprintf(st->out->text, sizeof(st->out->text), "%s:%u: ", name, line);
	else
		n = snprintf(st->out->text, sizeof(st->out->text), "%s: ", name);
	if (n < 0 || (size_t)n >= sizeof(st->out->text))
		return;
	va_start(ap, fmt);
	vsnprintf(st->out->text + n, sizeof(st->out->text) - (size_t)n, fmt, ap);
	va_end(ap);
}

static bool is_section(const char *name)
{
	for (size_t i = 0; i < CFG_NSECTIONS; i++) {
		if (strcmp(cfg_sections[i], name) == 0)
			return true;
	}
	return false;
}

static int find_key(const char *section, const char *name)
{
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		if ((!section || strcmp(cfg_keys[i].section, section) == 0) &&
		    strcmp(cfg_keys[i].name, name) == 0)
			return (int)i;
	}
	return -1;
}

/* Allowed range of a numeric key as text: "1..1000", "100ms..10m", "4k..64m". */
static void range_text(const struct key_def *k, char *buf, size_t size)
{
	char lo[24], hi[24];

	switch (k->type) {
	case KT_DURATION:
		cfg_format_duration(k->min, lo, sizeof(lo));
		cfg_format_duration(k->max, hi, sizeof(hi));
		break;
	case KT_SIZE:
		cfg_format_size(k->min, lo, sizeof(lo));
		cfg_format_size(k->max, hi, sizeof(hi));
		break;
	default:
		snprintf(lo, sizeof(lo), "%llu", (unsigned long long)k->min);
		snprintf(hi, sizeof(hi), "%llu", (unsigned long long)k->max);
		break;
	}
	snprintf(buf, size, "%s..%s%s", lo, hi,
	         strcmp(k->name, "workers") == 0 ? " (0 = one per online CPU)" : "");
}

/* A '#' after a blank looks like a comment to a human but is part of the value for libinih. */
static const char *comment_hint(const char *value)
{
	for (const char *p = strchr(value, '#'); p; p = strchr(p + 1, '#')) {
		if (p > value && isspace((unsigned char)p[-1]))
			return " (comments after a value start with ';', not '#')";
	}
	return "";
}

/* ---- Value handlers ---------------------------------------------------------------------- */

static void set_number(struct parse_state *st, const struct key_def *k, const char *value)
{
	char q[96], range[96];
	uint64_t v;
	int r;

	range_text(k, range, sizeof(range));
	cfg_quote(value, q, sizeof(q));
	const char *kind, *expected;
	switch (k->type) {
	case KT_DURATION:
		r = cfg_parse_duration(value, &v);
		kind = "duration";
		expected = "a whole number with unit ms, s, m or h (no unit = seconds)";
		break;
	case KT_SIZE:
		r = cfg_parse_size(value, &v);
		kind = "size";
		expected = "a whole number of bytes, optionally with suffix k or m (x1024),";
		break;
	default:
		r = cfg_parse_uint(value, &v);
		kind = "number";
		expected = "a whole decimal number";
		break;
	}
	if (r == -EINVAL) {
		fail(st, st->line, -EINVAL, "invalid %s '%s' for %s in [%s]; expected %s in %s%s",
		     kind, q, k->name, k->section, expected, range, comment_hint(value));
		return;
	}
	if (r < 0 || v < k->min || v > k->max) {
		fail(st, st->line, -ERANGE, "%s = %s is out of range in [%s]; allowed range is %s",
		     k->name, q, k->section, range);
		return;
	}
	switch (k->type) {
	case KT_DURATION:
		*(uint32_t *)cfg_key_field(&st->cfg, k) = (uint32_t)v;
		break;
	case KT_SIZE:
		*(size_t *)cfg_key_field(&st->cfg, k) = (size_t)v;
		break;
	default:
		*(unsigned *)cfg_key_field(&st->cfg, k) = (unsigned)v;
		break;
	}
}

/* Add one "ADDR:PORT" to a listen list; what names the source in messages. */
static void add_listen(struct parse_state *st, unsigned line, const char *what, const char *token,
                       struct arena_listen *list, unsigned *n)
{
	struct arena_listen l;
	char q[96];
	int r;

	cfg_quote(token, q, sizeof(q));
	r = arena_listen_parse(token, &l);
	if (r == -ERANGE) {
		fail(st, line, -ERANGE,
		     "%s address '%s' has a port out of range; ports are 1..65535", what, q);
		return;
	}
	if (r < 0) {
		fail(st, line, -EINVAL,
		     "%s address '%s' is invalid; expected IPV4:PORT, [IPV6]:PORT or *:PORT "
		     "(numeric addresses only)",
		     what, q);
		return;
	}
	for (unsigned i = 0; i < *n; i++) {
		if (cfg_listen_same(&list[i], &l)) {
			fail(st, line, -EINVAL,
			     "%s address '%s' is given twice; each address may be listed once",
			     what, q);
			return;
		}
	}
	if (*n >= ARENA_LISTEN_MAX) {
		fail(st, line, -EINVAL, "too many %s addresses; at most %d are allowed", what,
		     ARENA_LISTEN_MAX);
		return;
	}
	list[(*n)++] = l;
}

/* listen = A B, C ... (blanks or commas between); continuation lines append. */
static void set_listen(struct parse_state *st, const char *value, bool continuation)
{
	char token[CFG_LISTEN_TEXT_MAX + 2];
	const char *p = value;

	if (!continuation)
		st->cfg.nlisten = 0;
	while (!st->err) {
		size_t n;

		p += strspn(p, " \t,");
		if (!*p)
			break;
		n = strcspn(p, " \t,");
		if (n >= sizeof(token)) {
			char q[96];

			memcpy(token, p, sizeof(token) - 1);
			token[sizeof(token) - 1] = '\0';
			cfg_quote(token, q, sizeof(q));
			fail(st, st->line, -EINVAL,
			     "listen address '%s...' is too long; expected IPV4:PORT, [IPV6]:PORT "
			     "or "
			     "*:PORT",
			     q);
			return;
		}
		memcpy(token, p, n);
		token[n] = '\0';
		add_listen(st, st->line, "listen", token, st->cfg.listen, &st->cfg.nlisten);
		p += n;
	}
	if (!st->err && st->cfg.nlisten == 0)
		fail(st, st->line, -EINVAL,
		     "listen is empty in [server]; give at least one ADDR:PORT, e.g. 0.0.0.0:7777");
}

/* Next blank- or comma-separated token of *p into token (size bytes). 1 with the token, 0 at
 * the end, -E2BIG (token cut, NUL-terminated) if one is longer than size - 1. */
static int next_token(const char **p, char *token, size_t size)
{
	size_t n;

	*p += strspn(*p, " \t,");
	if (!**p)
		return 0;
	n = strcspn(*p, " \t,");
	memcpy(token, *p, n < size ? n : size - 1);
	token[n < size ? n : size - 1] = '\0';
	*p += n;
	return n < size ? 1 : -E2BIG;
}

/* proxy_protocol = MODE [MODE...]: one for every listener, or one per listener in order. */
static void set_proxy(struct parse_state *st, const char *value)
{
	enum arena_proxy_mode modes[ARENA_LISTEN_MAX] = {ARENA_PROXY_OFF};
	const char *p = value;
	char token[16], q[96];
	unsigned n = 0;
	int r;

	while ((r = next_token(&p, token, sizeof(token))) != 0) {
		cfg_quote(token, q, sizeof(q));
		if (r < 0 || cfg_parse_proxy_mode(token, &modes[n]) < 0) {
			fail(st, st->line, -EINVAL,
			     "invalid value '%s%s' for proxy_protocol in [server]; expected off, "
			     "v1, "
			     "v2 or optional, once for all listeners or once per listener",
			     q, r < 0 ? "..." : "");
			return;
		}
		if (++n == ARENA_LISTEN_MAX && *(p + strspn(p, " \t,"))) {
			fail(st, st->line, -EINVAL,
			     "too many proxy_protocol values; at most %d (one per listener)",
			     ARENA_LISTEN_MAX);
			return;
		}
	}
	if (n == 0) {
		fail(st, st->line, -EINVAL,
		     "proxy_protocol is empty in [server]; expected off, v1, v2 or optional");
		return;
	}
	memcpy(st->cfg.proxy_protocol, modes, sizeof(modes));
	st->cfg.nproxy_protocol = n;
}

/* proxy_trusted = NET [NET...] (may be empty). */
static void set_cidrs(struct parse_state *st, const char *value)
{
	struct arena_cidr list[ARENA_PROXY_TRUSTED_MAX];
	const char *p = value;
	char token[64], q[96];
	unsigned n = 0;
	int r;

	memset(list, 0, sizeof(list));
	while ((r = next_token(&p, token, sizeof(token))) != 0) {
		cfg_quote(token, q, sizeof(q));
		if (n == ARENA_PROXY_TRUSTED_MAX) {
			fail(st, st->line, -EINVAL,
			     "too many proxy_trusted networks; at most %d are allowed",
			     ARENA_PROXY_TRUSTED_MAX);
			return;
		}
		if (r > 0)
			r = cfg_parse_cidr(token, &list[n]);
		if (r == -ERANGE) {
			fail(st, st->line, -ERANGE,
			     "proxy_trusted network '%s' has a prefix too long; at most /32 for "
			     "IPv4 "
			     "and /128 for IPv6",
			     q);
			return;
		}
		if (r < 0) {
			fail(st, st->line, -EINVAL,
			     "invalid proxy_trusted network '%s'; expected ADDR or ADDR/BITS with "
			     "numeric IPv4 or IPv6 addresses and the host bits zero (e.g. "
			     "10.0.0.0/8, ::1)",
			     q);
			return;
		}
		n++;
	}
	memcpy(st->cfg.proxy_trusted, list, sizeof(list));
	st->cfg.nproxy_trusted = n;
}

static void set_value(struct parse_state *st, const struct key_def *k, const char *value)
{
	char q[96];

	cfg_quote(value, q, sizeof(q));
	switch (k->type) {
	case KT_UINT:
	case KT_DURATION:
	case KT_SIZE:
		set_number(st, k, value);
		break;
	case KT_BOOL:
		if (cfg_parse_bool(value, (bool *)cfg_key_field(&st->cfg, k)) < 0)
			fail(
			    st, st->line, -EINVAL,
			    "invalid value '%s' for %s in [%s]; expected true, false, yes, no, on, "
			    "off, 1 or 0%s",
			    q, k->name, k->section, comment_hint(value));
		break;
	case KT_LOG_LEVEL:
		if (cfg_parse_log_level(value, (enum arena_log_level *)cfg_key_field(&st->cfg, k)) <
		    0)
			fail(st, st->line, -EINVAL,
			     "invalid value '%s' for %s in [%s]; expected err, warning, notice, "
			     "info "
			     "or debug%s",
			     q, k->name, k->section, comment_hint(value));
		break;
	case KT_SOCKPATH:
	case KT_PATH: {
		size_t len = strlen(value);
		size_t max = k->type == KT_PATH ? ARENA_PATH_MAX : ARENA_SOCKPATH_MAX;
		bool ok = (value[0] == '/' || (k->type == KT_SOCKPATH && len == 0)) && len < max;

		for (size_t i = 0; ok && i < len; i++) {
			if ((unsigned char)value[i] < 0x20 || value[i] == 0x7f)
				ok = false;
		}
		if (!ok) {
			fail(st, st->line, -EINVAL,
			     "invalid path '%s' for %s in [%s]; expected %san absolute path "
			     "(starting "
			     "with '/') of at most %zu bytes without control characters",
			     q, k->name, k->section,
			     k->type == KT_SOCKPATH ? "nothing (none) or " : "", max - 1);
			break;
		}
		memcpy(cfg_key_field(&st->cfg, k), value, len + 1);
		break;
	}
	case KT_LISTEN:
		set_listen(st, value, false);
		break;
	case KT_PROXY:
		set_proxy(st, value);
		break;
	case KT_CIDRS:
		set_cidrs(st, value);
		break;
	case KT_ADDR: {
		struct arena_listen *l = cfg_key_field(&st->cfg, k);
		struct arena_listen one[1];
		unsigned n = 0;

		if (!*value) {
			memset(l, 0, sizeof(*l));
			break;
		}
		add_listen(st, st->line, k->name, value, one, &n);
		if (!st->err)
			*l = one[0];
		break;
	}
	}
}

/* ---- libinih callbacks ------------------------------------------------------------------- */

static void unknown_key(struct parse_state *st, const char *section, const char *name)
{
	char q[96], list[400];
	int elsewhere = find_key(NULL, name);
	int best = -1;
	unsigned best_d = 3;
	size_t n = 0;

	cfg_quote(name, q, sizeof(q));
	if (elsewhere >= 0) {
		fail(st, st->line, -EINVAL, "unknown key '%s' in [%s] (it belongs in [%s])", q,
		     section, cfg_keys[elsewhere].section);
		return;
	}
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		unsigned d;

		if (strcmp(cfg_keys[i].section, section) != 0)
			continue;
		d = cfg_edit_distance(name, cfg_keys[i].name, 2);
		if (d < best_d) {
			best_d = d;
			best = (int)i;
		}
		n += (size_t)snprintf(list + n, n < sizeof(list) ? sizeof(list) - n : 0, "%s%s",
		                      n ? ", " : "", cfg_keys[i].name);
		if (n >= sizeof(list))
			n = sizeof(list) - 1;
	}
	if (best >= 0)
		fail(st, st->line, -EINVAL, "unknown key '%s' in [%s] (did you mean '%s'?)", q,
		     section, cfg_keys[best].name);
	else
		fail(st, st->line, -EINVAL, "unknown key '%s' in [%s]; valid keys are: %s", q,
		     section, list);
}

static int on_key(void *user, const char *section, const char *name, const char *value)
{
	struct parse_state *st = user;
	bool continuation = st->indented && st->have_prev;
	const struct key_def *k;
	char q[96];
	int idx;

	if (st->err)
		return 0;
	if (continuation) {
		if (st->prev_key >= 0 && cfg_keys[st->prev_key].type == KT_LISTEN) {
			set_listen(st, value, true);
		} else {
			cfg_quote(name, q, sizeof(q));
			fail(st, st->line, -EINVAL,
			     "indented line continues the value of '%s'; only listen may span "
			     "several lines, other keys must start at the beginning of a line",
			     q);
		}
		return st->err ? 0 : 1;
	}
	st->have_prev = true;
	st->prev_key = -1;

	cfg_quote(name, q, sizeof(q));
	if (section[0] == '\0') {
		idx = find_key(NULL, name);
		if (idx >= 0)
			fail(st, st->line, -EINVAL,
			     "key '%s' is outside any section; put it under [%s]", q,
			     cfg_keys[idx].section);
		else
			fail(st, st->line, -EINVAL,
			     "key '%s' is outside any section; keys belong under [server], "
			     "[limits], [game] or [testing]",
			     q);
		return 0;
	}
	if (!is_section(section)) {
		/* the reader validates headers; this is only reached if libinih saw one it
		 * did not */
		char qs[96];

		cfg_quote(section, qs, sizeof(qs));
		fail(st, st->line, -EINVAL,
		     "unknown section [%s]; sections are [server], [limits], [game] and [testing]",
		     qs);
		return 0;
	}
	idx = find_key(section, name);
	if (idx < 0) {
		unknown_key(st, section, name);
		return 0;
	}
	k = &cfg_keys[idx];
	if (st->set_line[idx]) {
		fail(st, st->line, -EINVAL,
		     "duplicate key '%s' in [%s]; each key may be set once (first set on line %u)",
		     k->name, section, st->set_line[idx]);
		return 0;
	}
	st->set_line[idx] = st->line;
	st->prev_key = idx;
	set_value(st, k, value);
	return st->err ? 0 : 1;
}

/* Check a "[name]" header the way libinih will read it. Headers libinih rejects (no ']') are
 * left to it, so they come back as its syntax error. */
static void check_header(struct parse_state *st, const char *start)
{
	const char *p = start + 1, *end;
	bool was_space = false;
	char name[64], q[96];
	size_t n;

	/* libinih stops at ']' or at an inline comment ';' that follows a blank */
	while (*p && *p != ']' && !(was_space && *p == ';')) {
		was_space = isspace((unsigned char)*p);
		p++;
	}
	if (*p != ']')
		return;
	st->have_prev = false; /* a valid header makes libinih forget the previous key */
	end = p + 1;
	end += strspn(end, " \t\r\n\v\f");
	n = (size_t)(p - start - 1);
	if (n >= sizeof(name))
		n = sizeof(name) - 1;
	memcpy(name, start + 1, n);
	name[n] = '\0';
	cfg_quote(name, q, sizeof(q));
	if (*end && *end != ';' && *end != '#') {
		fail(st, st->line, -EINVAL,
		     "unexpected text after section header [%s]; only a comment may follow it", q);
		return;
	}
	if ((size_t)(p - start - 1) >= sizeof(name) || !is_section(name)) {
		const char *best = NULL;

		for (size_t i = 0; i < CFG_NSECTIONS; i++) {
			if (cfg_edit_distance(name, cfg_sections[i], 2) <= 2) {
				best = cfg_sections[i];
				break;
			}
		}
		if (best)
			fail(st, st->line, -EINVAL, "unknown section [%s] (did you mean [%s]?)", q,
			     best);
		else
			fail(st, st->line, -EINVAL,
			     "unknown section [%s]; sections are [server], [limits], [game] and "
			     "[testing]",
			     q);
	}
}

/* fgets-style reader over st->text: one whole line per call, or an error if it does not fit. */
static char *read_line(char *buf, int num, void *stream)
{
	struct parse_state *st = stream;
	const char *p, *nl, *start;
	size_t rest, len, content;

	if (st->err || st->pos >= st->len || num < 4)
		return NULL;
	p = st->text + st->pos;
	rest = st->len - st->pos;
	nl = memchr(p, '\n', rest);
	len = nl ? (size_t)(nl - p) + 1 : rest;
	content = nl ? len - 1 : len;
	if (content > 0 && p[content - 1] == '\r')
		content--;
	st->line++;
	st->max_line_len = (unsigned)num - 3; /* room for "\r\n" and the NUL */
	if (content > st->max_line_len) {
		fail(st, st->line, -EINVAL,
		     "line too long (%zu characters); lines may have at most %u characters",
		     content, st->max_line_len);
		return NULL;
	}
	memcpy(buf, p, len);
	buf[len] = '\0';
	st->pos += len;

	start = buf;
	if (st->line == 1 && strncmp(start, "\xEF\xBB\xBF", 3) == 0)
		start += 3;
	st->indented = isspace((unsigned char)*start);
	while (isspace((unsigned char)*start))
		start++;
	if (*start == '[' && !(st->indented && st->have_prev))
		check_header(st, start);
	return st->err ? NULL : buf;
}

/* libinih found a syntax error on line: say what kind, quoting the line. */
static void syntax_error(struct parse_state *st, unsigned line)
{
	const char *p = st->text, *end;
	char text[120], q[96];
	size_t n;

	for (unsigned i = 1; i < line && p; i++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p)
		p = "";
	end = strchr(p, '\n');
	n = end ? (size_t)(end - p) : strlen(p);
	if (n >= sizeof(text))
		n = sizeof(text) - 1;
	memcpy(text, p, n);
	text[n] = '\0';
	p = text;
	if (line == 1 && strncmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	while (isspace((unsigned char)*p))
		p++;
	cfg_quote(p, q, sizeof(q));
	if (*p == '[')
		fail(st, line, -EINVAL,
		     "syntax error: section header '%s' has no closing ']'; expected [server], "
		     "[limits], [game] or [testing]",
		     q);
	else
		fail(st, line, -EINVAL,
		     "syntax error in '%s'; expected 'key = value', a [section] header, or a "
		     "comment starting with ';' or '#'",
		     q);
}

/* ---- Checks across keys ------------------------------------------------------------------ */

/* The line of the last of up to three keys set in the file (0 if none was), where a
 * complaint about their combination is reported. */
static unsigned later_line(const struct parse_state *st, const char *a, const char *b,
                           const char *c)
{
	const char *names[] = {a, b, c};
	unsigned line = 0;

	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		int idx = names[i] ? find_key(NULL, names[i]) : -1;

		if (idx >= 0 && st->set_line[idx] > line)
			line = st->set_line[idx];
	}
	return line;
}

static void check_cross(struct parse_state *st)
{
	const struct arena_config *c = &st->cfg;
	bool proxy_on = false;

	for (unsigned i = 0; i < c->nproxy_protocol && i < ARENA_LISTEN_MAX; i++)
		proxy_on |= c->proxy_protocol[i] != ARENA_PROXY_OFF;
	if (proxy_on && c->nproxy_trusted == 0) {
		fail(st, later_line(st, "proxy_protocol", "proxy_trusted", NULL), -EINVAL,
		     "proxy_protocol is on but proxy_trusted is empty; list the addresses of the "
		     "load balancers allowed to send PROXY headers (e.g. proxy_trusted = "
		     "127.0.0.1)");
		return;
	}

	if (c->max_clients_per_ip > c->max_clients)
		fail(st, later_line(st, "max_clients_per_ip", "max_clients", NULL), -EINVAL,
		     "max_clients_per_ip (%u) is larger than max_clients (%u); it must be at most "
		     "max_clients",
		     c->max_clients_per_ip, c->max_clients);
	else if (c->room_capacity > c->max_players)
		fail(st, later_line(st, "room_capacity", "max_players", NULL), -EINVAL,
		     "room_capacity (%u) is larger than max_players (%u); it must be at most "
		     "max_players",
		     c->room_capacity, c->max_players);
	else if ((uint64_t)c->gems_per_room >= (uint64_t)c->room_width * c->room_height)
		fail(st, later_line(st, "gems_per_room", "room_width", "room_height"), -EINVAL,
		     "gems_per_room (%u) does not fit a %ux%u room; it must be less than "
		     "room_width * room_height",
		     c->gems_per_room, c->room_width, c->room_height);
	else if (c->keyframe_max_ms < c->keyframe_interval_ms)
		fail(st, later_line(st, "keyframe_max", "keyframe_interval", NULL), -EINVAL,
		     "keyframe_max (%ums) is shorter than keyframe_interval (%ums); it must be at "
		     "least keyframe_interval (equal keeps one keyframe per interval)",
		     c->keyframe_max_ms, c->keyframe_interval_ms);
}

/* Last step of every load: checks across keys, then "workers = 0" becomes the CPU count. */
static void finish(struct parse_state *st)
{
	check_cross(st);
	if (!st->err && st->cfg.workers == 0)
		st->cfg.workers = cfg_online_cpus();
}

/* Parse text (NUL-free, len bytes) into st->cfg. 0 or the first error. */
static int parse_text(struct parse_state *st)
{
	int r;

	st->prev_key = -1;
	r = ini_parse_stream(read_line, st, on_key, st);
	if (r == -2 && !st->err)
		fail(st, 0, -ENOMEM, "out of memory while parsing");
	else if (r > 0 && (!st->err || (unsigned)r < st->err_line)) {
		st->err = 0; /* libinih's earlier syntax error is the first problem */
		syntax_error(st, (unsigned)r);
	} else if (r < 0 && !st->err)
		fail(st, 0, -EIO, "cannot parse (libinih error %d)", r);
	return st->err;
}

/* Read a whole file of at most CFG_FILE_MAX bytes into a fresh NUL-terminated buffer. */
static int read_file(const char *path, char **ret_buf, size_t *ret_len)
{
	size_t cap = CFG_FILE_MAX + 1, len = 0;
	char *buf;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		return -ENOMEM;
	}
	while (len < cap) {
		ssize_t n = read(fd, buf + len, cap - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (r == 0 && len > CFG_FILE_MAX)
		r = -EFBIG;
	if (r < 0) {
		free(buf);
		return r;
	}
	buf[len] = '\0';
	*ret_buf = buf;
	*ret_len = len;
	return 0;
}

/* Parse a NUL-free in-memory text named name on top of st->cfg. */
static int load_text(struct parse_state *st, const char *name, const char *text, size_t len)
{
	const char *nul = memchr(text, '\0', len);

	st->name = name;
	st->text = text;
	st->len = len;
	if (len > CFG_FILE_MAX) {
		fail(st, 0, -EFBIG, "too large; a configuration file may have at most %d bytes",
		     CFG_FILE_MAX);
		return st->err;
	}
	if (nul) {
		unsigned line = 1;

		for (const char *p = text; p < nul; p++)
			line += *p == '\n';
		fail(st, line, -EINVAL, "NUL byte in the file; a configuration file is plain text");
		return st->err;
	}
	return parse_text(st);
}

int arena_config_load_string(const char *text, const char *name, struct arena_config *ret,
                             struct arena_config_error *err)
{
	struct arena_config_error dummy;
	struct parse_state *st;
	int r;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->out = err ? err : &dummy;
	arena_config_defaults(&st->cfg);
	r = load_text(st, name ? name : "<string>", text, strnlen(text, CFG_FILE_MAX + 1));
	if (r == 0) {
		finish(st);
		r = st->err;
	}
	if (r == 0)
		memcpy(ret, &st->cfg, sizeof(*ret));
	free(st);
	return r;
}

/* Apply --listen and --workers over st->cfg; messages name the command line. */
static void apply_flags(struct parse_state *st, const struct arena_cli *cli)
{
	const char *saved = st->name;

	st->name = "command line";
	if (cli->nlisten > ARENA_LISTEN_MAX) {
		fail(st, 0, -EINVAL, "too many --listen options; at most %d are allowed",
		     ARENA_LISTEN_MAX);
	} else if (cli->nlisten > 0) {
		struct arena_listen list[ARENA_LISTEN_MAX];
		unsigned n = 0;

		for (unsigned i = 0; i < cli->nlisten && !st->err; i++) {
			char token[sizeof(cli->listen[i])];

			memcpy(token, cli->listen[i], sizeof(token));
			token[sizeof(token) - 1] = '\0';
			add_listen(st, 0, "--listen", token, list, &n);
		}
		if (!st->err) {
			memcpy(st->cfg.listen, list, sizeof(list[0]) * n);
			memset(st->cfg.listen + n, 0, sizeof(list[0]) * (ARENA_LISTEN_MAX - n));
			st->cfg.nlisten = n;
		}
	}
	if (!st->err && cli->workers >= 0) {
		if (cli->workers > CFG_WORKERS_MAX)
			fail(st, 0, -ERANGE, "--workers %d is out of range; allowed range is 0..%d",
			     cli->workers, CFG_WORKERS_MAX);
		else
			st->cfg.workers = (unsigned)cli->workers;
	}
	st->name = saved;
}

int arena_config_load(const struct arena_cli *cli, struct arena_config *ret,
                      struct arena_config_error *err)
{
	struct arena_config_error dummy;
	struct parse_state *st;
	char *buf = NULL;
	size_t len = 0;
	int r = 0;

	st = calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->out = err ? err : &dummy;
	st->name = "defaults";
	arena_config_defaults(&st->cfg);

	if (cli && cli->config_path[0]) {
		r = read_file(cli->config_path, &buf, &len);
		st->name = cli->config_path;
		if (r == -ENOENT && !cli->config_given) {
			r = 0; /* an optional default file that is not there */
		} else if (r == -EFBIG) {
			fail(st, 0, r, "too large; a configuration file may have at most %d bytes",
			     CFG_FILE_MAX);
		} else if (r < 0) {
			fail(st, 0, r, "cannot read: %s", strerror(-r));
		} else {
			load_text(st, cli->config_path, buf, len);
		}
	}
	if (!st->err && cli)
		apply_flags(st, cli);
	if (!st->err)
		finish(st);
	r = st->err;
	if (r == 0)
		memcpy(ret, &st->cfg, sizeof(*ret));
	free(buf);
	free(st);
	return r;
}
