/* values.c: parsing and formatting of single configuration values (numbers, durations, sizes,
 * booleans, log levels, listen addresses).
 *
 * Each parser accepts the complete text or nothing: digits only (no sign, no "0x", no blanks, no
 * trailing junk), overflow checked before every multiplication, and the output is written only
 * on success. Range checks belong to the caller, which knows the key; these functions only tell
 * malformed text (-EINVAL) from a number too large to hold (-ERANGE). The formatters are the
 * exact inverses used by arena_config_dump(), so a dumped configuration reads back the same.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "arena_config.h"
#include "config-internal.h"

/* Parse the leading run of digits of text into *ret_value; *ret_end points past it.
 * -EINVAL if there is no digit, -ERANGE if the number does not fit in 64 bits. */
static int parse_digits(const char *text, uint64_t *ret_value, const char **ret_end)
{
	const char *p = text;
	uint64_t v = 0;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');

		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*ret_value = v;
	*ret_end = p;
	return 0;
}

/* Skip the digits of text: used to classify an overflowing number whose tail is junk. */
static const char *skip_digits(const char *p)
{
	while (isdigit((unsigned char)*p))
		p++;
	return p;
}

int cfg_parse_uint(const char *text, uint64_t *ret)
{
	const char *end;
	uint64_t v;
	int r;

	r = parse_digits(text, &v, &end);
	if (r == -ERANGE) /* malformed beats overflow: "99999999999999999999x" is not a number */
		return *skip_digits(text) == '\0' ? -ERANGE : -EINVAL;
	if (r < 0)
		return r;
	if (*end != '\0')
		return -EINVAL;
	*ret = v;
	return 0;
}

/* Multiply v by unit into *ret, -ERANGE on overflow. */
static int scale(uint64_t v, uint64_t unit, uint64_t *ret)
{
	if (unit != 0 && v > UINT64_MAX / unit)
		return -ERANGE;
	*ret = v * unit;
	return 0;
}

struct unit {
	const char *suffix;
	uint64_t factor;
};

/* A whole number followed by one of units' suffixes (a NULL suffix ends the table). A number
 * too large is -ERANGE only when its suffix is valid, so a typo is reported as such. */
static int parse_with_unit(const char *text, const struct unit *units, uint64_t *ret)
{
	const char *end;
	uint64_t v;
	int r = parse_digits(text, &v, &end);
	if (r == -ERANGE)
		end = skip_digits(text);
	else if (r < 0)
		return r;
	for (const struct unit *u = units; u->suffix; u++)
		if (strcmp(end, u->suffix) == 0)
			return r < 0 ? r : scale(v, u->factor, ret);
	return -EINVAL;
}

int cfg_parse_duration(const char *text, uint64_t *ret_ms)
{
	static const struct unit units[] = {
	    {"", 1000}, {"s", 1000}, {"ms", 1}, {"m", 60 * 1000}, {"h", 60 * 60 * 1000}, {NULL, 0},
	};
	return parse_with_unit(text, units, ret_ms);
}

int cfg_parse_size(const char *text, uint64_t *ret)
{
	static const struct unit units[] = {
	    {"", 1},
	    {"k", 1024},
	    {"m", 1024 * 1024},
	    {NULL, 0},
	};
	return parse_with_unit(text, units, ret);
}

int cfg_parse_bool(const char *text, bool *ret)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(text, yes[i]) == 0) {
			*ret = true;
			return 0;
		}
		if (strcasecmp(text, no[i]) == 0) {
			*ret = false;
			return 0;
		}
	}
	return -EINVAL;
}

static const struct {
	const char *name;
	enum arena_log_level level;
} log_levels[] = {
    {"err", ARENA_LOG_ERR},   {"warning", ARENA_LOG_WARNING}, {"notice", ARENA_LOG_NOTICE},
    {"info", ARENA_LOG_INFO}, {"debug", ARENA_LOG_DEBUG},
};

int cfg_parse_log_level(const char *text, enum arena_log_level *ret)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
		if (strcmp(text, log_levels[i].name) == 0) {
			*ret = log_levels[i].level;
			return 0;
		}
	}
	return -EINVAL;
}

/* Name of a log level as written in the configuration file ("info"); "unknown" for a value
 * outside the enum. */
const char *arena_log_level_name(enum arena_log_level level)
{
	for (size_t i = 0; i < sizeof(log_levels) / sizeof(log_levels[0]); i++) {
		if (log_levels[i].level == level)
			return log_levels[i].name;
	}
	return "unknown";
}

static const char *const proxy_modes[] = {
    [ARENA_PROXY_OFF] = "off",
    [ARENA_PROXY_V1] = "v1",
    [ARENA_PROXY_V2] = "v2",
    [ARENA_PROXY_OPTIONAL] = "optional",
};

int cfg_parse_proxy_mode(const char *text, enum arena_proxy_mode *ret)
{
	for (size_t i = 0; i < sizeof(proxy_modes) / sizeof(proxy_modes[0]); i++) {
		if (strcmp(text, proxy_modes[i]) == 0) {
			*ret = (enum arena_proxy_mode)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *arena_proxy_mode_name(enum arena_proxy_mode mode)
{
	if ((size_t)mode < sizeof(proxy_modes) / sizeof(proxy_modes[0]))
		return proxy_modes[mode];
	return "unknown";
}

int arena_proxy_mode_of(const struct arena_config *cfg, unsigned i, unsigned n,
                        enum arena_proxy_mode *ret)
{
	if (cfg->nproxy_protocol == 1) {
		*ret = cfg->proxy_protocol[0];
		return 0;
	}
	if (cfg->nproxy_protocol != n || i >= n || n > ARENA_LISTEN_MAX)
		return -EINVAL;
	*ret = cfg->proxy_protocol[i];
	return 0;
}

int cfg_parse_cidr(const char *text, struct arena_cidr *ret)
{
	char host[INET6_ADDRSTRLEN], norm[INET6_ADDRSTRLEN];
	const char *slash = strchr(text, '/');
	size_t host_len = slash ? (size_t)(slash - text) : strlen(text);
	struct arena_cidr c;
	uint64_t bits;
	unsigned max;

	if (host_len == 0 || host_len >= sizeof(host))
		return -EINVAL;
	memcpy(host, text, host_len);
	host[host_len] = '\0';
	memset(&c, 0, sizeof(c));
	if (inet_pton(AF_INET, host, c.addr) == 1) {
		c.family = AF_INET;
		max = 32;
	} else if (inet_pton(AF_INET6, host, c.addr) == 1) {
		c.family = AF_INET6;
		max = 128;
	} else {
		return -EINVAL;
	}
	bits = max;
	if (slash) {
		int r = cfg_parse_uint(slash + 1, &bits);

		if (r == -EINVAL)
			return r;
		if (r < 0 || bits > max)
			return -ERANGE;
	}
	for (unsigned b = (unsigned)bits; b < max; b++)
		if (c.addr[b / 8] & (0x80u >> (b % 8)))
			return -EINVAL; /* host bits set: almost always a typo for a wider net */
	c.prefix = (uint8_t)bits;
	if (!inet_ntop(c.family, c.addr, norm, sizeof(norm)))
		return -EINVAL;
	snprintf(c.text, sizeof(c.text), "%s/%u", norm, c.prefix & 0xffu);
	*ret = c;
	return 0;
}

static bool cidr_match(const struct arena_cidr *c, int family, const uint8_t *addr)
{
	unsigned full = c->prefix / 8, rest = c->prefix % 8;

	if (c->family != family)
		return false;
	if (memcmp(c->addr, addr, full) != 0)
		return false;
	return rest == 0 || ((c->addr[full] ^ addr[full]) & (0xffu << (8 - rest)) & 0xffu) == 0;
}

bool arena_proxy_trusted(const struct arena_config *cfg, int family, const uint8_t *addr)
{
	for (unsigned i = 0; i < cfg->nproxy_trusted && i < ARENA_PROXY_TRUSTED_MAX; i++)
		if (cidr_match(&cfg->proxy_trusted[i], family, addr))
			return true;
	return false;
}

void cfg_format_duration(uint64_t ms, char *buf, size_t size)
{
	if (ms != 0 && ms % (60 * 60 * 1000) == 0)
		snprintf(buf, size, "%lluh", (unsigned long long)(ms / (60 * 60 * 1000)));
	else if (ms != 0 && ms % (60 * 1000) == 0)
		snprintf(buf, size, "%llum", (unsigned long long)(ms / (60 * 1000)));
	else if (ms % 1000 == 0)
		snprintf(buf, size, "%llus", (unsigned long long)(ms / 1000));
	else
		snprintf(buf, size, "%llums", (unsigned long long)ms);
}

void cfg_format_size(uint64_t bytes, char *buf, size_t size)
{
	if (bytes != 0 && bytes % (1024 * 1024) == 0)
		snprintf(buf, size, "%llum", (unsigned long long)(bytes / (1024 * 1024)));
	else if (bytes != 0 && bytes % 1024 == 0)
		snprintf(buf, size, "%lluk", (unsigned long long)(bytes / 1024));
	else
		snprintf(buf, size, "%llu", (unsigned long long)bytes);
}

/* Parse "ADDR:PORT" into *ret: "1.2.3.4:7777", "[::1]:7777", and "*:7777" or ":7777" for the
 * IPv4 wildcard. The text is normalised ("[0:0::1]:07777" becomes "[::1]:7777"). Returns 0,
 * -EINVAL for malformed text (including host names, unbracketed IPv6 and IPv6 zone ids), or
 * -ERANGE for a port outside 1..65535. */
int arena_listen_parse(const char *text, struct arena_listen *ret)
{
	char host[INET6_ADDRSTRLEN];
	char addr_text[INET6_ADDRSTRLEN];
	struct arena_listen l;
	const char *port_text;
	size_t len = strlen(text), host_len;
	uint64_t port;
	bool v6;
	int r;

	if (len == 0 || len > CFG_LISTEN_TEXT_MAX)
		return -EINVAL;

	if (text[0] == '[') {
		const char *close = strchr(text, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		host_len = (size_t)(close - text - 1);
		if (host_len == 0 || host_len >= sizeof(host))
			return -EINVAL;
		memcpy(host, text + 1, host_len);
		port_text = close + 2;
		v6 = true;
	} else {
		const char *colon = strrchr(text, ':');

		if (!colon)
			return -EINVAL;
		host_len = (size_t)(colon - text);
		if (host_len >= sizeof(host))
			return -EINVAL;
		memcpy(host, text, host_len);
		port_text = colon + 1;
		v6 = false;
	}
	host[host_len] = '\0';

	r = cfg_parse_uint(port_text, &port);
	if (r == -EINVAL)
		return r;

	memset(&l, 0, sizeof(l));
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l.addr;

		if (inet_pton(AF_INET6, host, &sin6->sin6_addr) != 1)
			return -EINVAL;
		sin6->sin6_family = AF_INET6;
		l.addrlen = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&l.addr;

		if (strcmp(host, "") == 0 || strcmp(host, "*") == 0)
			sin->sin_addr.s_addr = htonl(INADDR_ANY);
		else if (inet_pton(AF_INET, host, &sin->sin_addr) != 1)
			return -EINVAL;
		sin->sin_family = AF_INET;
		l.addrlen = sizeof(*sin);
	}
	if (r < 0 || port < 1 || port > 65535)
		return -ERANGE;

	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&l.addr;

		sin6->sin6_port = htons((uint16_t)port);
		if (!inet_ntop(AF_INET6, &sin6->sin6_addr, addr_text, sizeof(addr_text)))
			return -EINVAL;
		snprintf(l.text, sizeof(l.text), "[%s]:%u", addr_text, (unsigned)port);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&l.addr;

		sin->sin_port = htons((uint16_t)port);
		if (!inet_ntop(AF_INET, &sin->sin_addr, addr_text, sizeof(addr_text)))
			return -EINVAL;
		snprintf(l.text, sizeof(l.text), "%s:%u", addr_text, (unsigned)port);
	}
	*ret = l;
	return 0;
}

bool cfg_listen_same(const struct arena_listen *a, const struct arena_listen *b)
{
	if (a->addr.ss_family != b->addr.ss_family)
		return false;
	if (a->addr.ss_family == AF_INET) {
		const struct sockaddr_in *x = (const struct sockaddr_in *)&a->addr;
		const struct sockaddr_in *y = (const struct sockaddr_in *)&b->addr;

		return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
	}
	if (a->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *x = (const struct sockaddr_in6 *)&a->addr;
		const struct sockaddr_in6 *y = (const struct sockaddr_in6 *)&b->addr;

		return x->sin6_port == y->sin6_port &&
		       memcmp(&x->sin6_addr, &y->sin6_addr, sizeof(x->sin6_addr)) == 0;
	}
	return false;
}

bool cfg_equal(const struct arena_config *a, const struct arena_config *b)
{
	if (a->nlisten != b->nlisten)
		return false;
	for (unsigned i = 0; i < a->nlisten && i < ARENA_LISTEN_MAX; i++) {
		if (!cfg_listen_same(&a->listen[i], &b->listen[i]) ||
		    a->listen[i].addrlen != b->listen[i].addrlen ||
		    strcmp(a->listen[i].text, b->listen[i].text) != 0)
			return false;
	}
	return a->workers == b->workers && a->max_clients == b->max_clients &&
	       a->max_clients_per_ip == b->max_clients_per_ip && a->backlog == b->backlog &&
	       a->log_level == b->log_level && strcmp(a->state_dir, b->state_dir) == 0 &&
	       a->drain_timeout_ms == b->drain_timeout_ms &&
	       a->heartbeat_timeout_ms == b->heartbeat_timeout_ms &&
	       a->crash_limit == b->crash_limit && a->crash_window_ms == b->crash_window_ms &&
	       a->save_interval_ms == b->save_interval_ms &&
	       memcmp(&a->metrics_listen, &b->metrics_listen, sizeof(a->metrics_listen)) == 0 &&
	       strcmp(a->admin_socket, b->admin_socket) == 0 &&
	       a->nproxy_protocol == b->nproxy_protocol &&
	       memcmp(a->proxy_protocol, b->proxy_protocol, sizeof(a->proxy_protocol)) == 0 &&
	       a->nproxy_trusted == b->nproxy_trusted &&
	       memcmp(a->proxy_trusted, b->proxy_trusted, sizeof(a->proxy_trusted)) == 0 &&
	       memcmp(&a->redis, &b->redis, sizeof(a->redis)) == 0 &&
	       a->max_payload == b->max_payload &&
	       a->handshake_timeout_ms == b->handshake_timeout_ms &&
	       a->idle_timeout_ms == b->idle_timeout_ms && a->output_buffer == b->output_buffer &&
	       a->input_rate == b->input_rate && a->input_burst == b->input_burst &&
	       a->chat_rate == b->chat_rate && a->chat_burst == b->chat_burst &&
	       a->request_rate == b->request_rate && a->request_burst == b->request_burst &&
	       a->flood_kick == b->flood_kick && a->max_rooms_per_ip == b->max_rooms_per_ip &&
	       a->tick_rate == b->tick_rate && a->max_players == b->max_players &&
	       a->max_rooms == b->max_rooms && a->room_width == b->room_width &&
	       a->room_height == b->room_height && a->room_capacity == b->room_capacity &&
	       a->gems_per_room == b->gems_per_room &&
	       a->keyframe_interval_ms == b->keyframe_interval_ms &&
	       a->keyframe_max_ms == b->keyframe_max_ms && a->immediate_ack == b->immediate_ack &&
	       a->resume_grace_ms == b->resume_grace_ms &&
	       a->leaderboard_size == b->leaderboard_size &&
	       a->fault_injection == b->fault_injection;
}

unsigned cfg_edit_distance(const char *a, const char *b, unsigned limit)
{
	enum { N = 64 };
	unsigned d[N + 1][N + 1];
	size_t la = strlen(a), lb = strlen(b);

	if (la > N || lb > N)
		return limit + 1;
	for (size_t i = 0; i <= la; i++)
		d[i][0] = (unsigned)i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = a[i - 1] == b[j - 1] ? 0 : 1;
			unsigned best = d[i - 1][j] + 1;

			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < best)
				best = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb] > limit ? limit + 1 : d[la][lb];
}

void cfg_quote(const char *text, char *buf, size_t size)
{
	size_t len = strlen(text), n = 0;
	bool cut = len > size - 1;
	size_t keep = cut ? size - 4 : len;

	for (; n < keep; n++) {
		unsigned char c = (unsigned char)text[n];

		buf[n] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c;
	}
	if (cut) {
		memcpy(buf + n, "...", 3);
		n += 3;
	}
	buf[n] = '\0';
}
