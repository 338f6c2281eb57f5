/* test-config.c: unit tests of the configuration library (loader, value parsers, CLI, dump).
 *
 * Each error class has its own test that checks the return code, that the message names
 * file:line and the key, and says what is allowed. Files are written into a private temporary
 * directory that the group teardown removes. The sample arenad.conf is found through the
 * ARENA_SAMPLE_CONF environment variable (set by meson) and must load to exactly the built-in
 * defaults, which keeps the sample and the code in step.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <ftw.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "arena-build.h"
#include "arena_config.h"
#include "config-internal.h"

static char tmpdir[64];

static int setup_dir(void **state)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/arena-test-config.XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	chmod(path, 0700);
	return remove(path);
}

static int remove_dir(void **state)
{
	return nftw(tmpdir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
}

/* Write len bytes (SIZE_MAX: the whole string) to tmpdir/name; returns the path in a static
 * buffer. */
static const char *write_file(const char *name, const char *data, size_t len)
{
	static char path[128];
	FILE *f;

	if (len == SIZE_MAX)
		len = strlen(data);
	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	f = fopen(path, "wbe");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static struct arena_cli cli_for(const char *path)
{
	struct arena_cli cli;

	memset(&cli, 0, sizeof(cli));
	cli.workers = -1;
	if (path) {
		snprintf(cli.config_path, sizeof(cli.config_path), "%s", path);
		cli.config_given = true;
	}
	return cli;
}

/* Load text that must fail with err, and check the message contains every given fragment. */
static void expect_error(const char *text, int err, ...)
{
	struct arena_config cfg, before;
	struct arena_config_error e;
	const char *frag;
	va_list ap;

	memset(&cfg, 0xA5, sizeof(cfg));
	before = cfg;
	memset(&e, 0, sizeof(e));
	assert_int_equal(arena_config_load_string(text, "t.conf", &cfg, &e), err);
	assert_memory_equal(&cfg, &before, sizeof(cfg)); /* untouched on failure */
	assert_null(strchr(e.text, '\n'));
	va_start(ap, err);
	while ((frag = va_arg(ap, const char *))) {
		if (!strstr(e.text, frag))
			fail_msg("message \"%s\" lacks \"%s\"", e.text, frag);
	}
	va_end(ap);
}

static void load_ok(const char *text, struct arena_config *ret)
{
	struct arena_config_error e = {{0}};
	int r = arena_config_load_string(text, "t.conf", ret, &e);

	if (r != 0)
		fail_msg("load failed (%d): %s", r, e.text);
}

/* ---- Defaults and the sample file ------------------------------------------------------- */

/* cfg_equal() must see a change of any single key: the dump round trip and the fuzzer rely on
 * it. Each key's field is changed in place (first byte flipped: a different number, flag, path
 * or level; for listen, one address more). */
static void test_equal_sees_every_key(void **state)
{
	struct arena_config def, c;

	(void)state;
	arena_config_defaults(&def);
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		const struct key_def *k = &cfg_keys[i];

		c = def;
		if (k->type == KT_LISTEN)
			c.nlisten++;
		else
			*(unsigned char *)cfg_key_field(&c, k) ^= 1;
		if (cfg_equal(&c, &def))
			fail_msg("cfg_equal() does not compare [%s] %s", k->section, k->name);
	}
}

static void test_defaults(void **state)
{
	struct arena_config c;
	const struct sockaddr_in *sin;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);

	arena_config_defaults(&c);
	assert_int_equal(c.nlisten, 1);
	assert_string_equal(c.listen[0].text, "0.0.0.0:7777");
	sin = (const struct sockaddr_in *)&c.listen[0].addr;
	assert_int_equal(sin->sin_family, AF_INET);
	assert_int_equal(ntohs(sin->sin_port), 7777);
	assert_int_equal(sin->sin_addr.s_addr, htonl(INADDR_ANY));
	assert_int_equal(c.listen[0].addrlen, sizeof(struct sockaddr_in));
	assert_int_equal(c.workers, cpus > 256 ? 256 : cpus);
	assert_int_equal(c.max_clients, 10000);
	assert_int_equal(c.max_clients_per_ip, 256);
	assert_int_equal(c.backlog, 511);
	assert_int_equal(c.log_level, ARENA_LOG_INFO);
	assert_string_equal(c.state_dir, ARENA_STATEDIR);
	assert_int_equal(c.drain_timeout_ms, 5000);
	assert_int_equal(c.heartbeat_timeout_ms, 3000);
	assert_int_equal(c.crash_limit, 5);
	assert_int_equal(c.crash_window_ms, 30000);
	assert_int_equal(c.save_interval_ms, 60000);
	assert_int_equal(c.max_payload, 512);
	assert_int_equal(c.handshake_timeout_ms, 5000);
	assert_int_equal(c.idle_timeout_ms, 60000);
	assert_int_equal(c.output_buffer, 256 * 1024);
	assert_int_equal(c.input_rate, 20);
	assert_int_equal(c.input_burst, 40);
	assert_int_equal(c.chat_rate, 5);
	assert_int_equal(c.chat_burst, 5);
	assert_int_equal(c.request_rate, 10);
	assert_int_equal(c.request_burst, 20);
	assert_int_equal(c.flood_kick, 200);
	assert_int_equal(c.max_rooms_per_ip, 64);
	assert_int_equal(c.tick_rate, 20);
	assert_int_equal(c.max_players, 20000);
	assert_int_equal(c.max_rooms, 2000);
	assert_int_equal(c.room_width, 64);
	assert_int_equal(c.room_height, 64);
	assert_int_equal(c.room_capacity, 16);
	assert_int_equal(c.gems_per_room, 4);
	assert_int_equal(c.keyframe_interval_ms, 1000);
	assert_int_equal(c.resume_grace_ms, 30000);
	assert_int_equal(c.leaderboard_size, 10);
	assert_false(c.fault_injection);
}

static void test_empty_and_no_file_are_defaults(void **state)
{
	struct arena_config def, c;
	struct arena_config_error e;
	struct arena_cli cli = cli_for(NULL);

	arena_config_defaults(&def);
	load_ok("", &c);
	assert_true(cfg_equal(&c, &def));
	load_ok("# only a comment\n\n; another\n[game]\n", &c);
	assert_true(cfg_equal(&c, &def));
	assert_int_equal(arena_config_load(&cli, &c, &e), 0);
	assert_true(cfg_equal(&c, &def));
	assert_int_equal(arena_config_load(NULL, &c, &e), 0);
	assert_true(cfg_equal(&c, &def));
}

static void test_sample_file_loads(void **state)
{
	const char *path = getenv("ARENA_SAMPLE_CONF");
	struct arena_config def, c;
	struct arena_config_error e = {{0}};
	struct arena_cli cli;
	int r;

	if (!path)
		fail_msg("ARENA_SAMPLE_CONF is not set");
	cli = cli_for(path);
	r = arena_config_load(&cli, &c, &e);
	if (r != 0)
		fail_msg("sample failed to load: %s", e.text);
	arena_config_defaults(&def);
	assert_true(cfg_equal(&c, &def)); /* the sample documents the real defaults */
}

/* ---- Values ----------------------------------------------------------------------------- */

static void test_value_parsers(void **state)
{
	uint64_t v = 42;
	bool b = false;

	assert_int_equal(cfg_parse_uint("0", &v), 0);
	assert_int_equal(v, 0);
	assert_int_equal(cfg_parse_uint("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	v = 42;
	assert_int_equal(cfg_parse_uint("18446744073709551616", &v), -ERANGE);
	assert_int_equal(cfg_parse_uint("18446744073709551616x", &v), -EINVAL);
	assert_int_equal(cfg_parse_uint("", &v), -EINVAL);
	assert_int_equal(cfg_parse_uint("-1", &v), -EINVAL);
	assert_int_equal(cfg_parse_uint("+1", &v), -EINVAL);
	assert_int_equal(cfg_parse_uint("0x10", &v), -EINVAL);
	assert_int_equal(cfg_parse_uint(" 1", &v), -EINVAL);
	assert_int_equal(cfg_parse_uint("1 ", &v), -EINVAL);
	assert_int_equal(cfg_parse_uint("1.0", &v), -EINVAL);
	assert_int_equal(v, 42); /* untouched by failures */

	assert_int_equal(cfg_parse_duration("250ms", &v), 0);
	assert_int_equal(v, 250);
	assert_int_equal(cfg_parse_duration("5", &v), 0);
	assert_int_equal(v, 5000);
	assert_int_equal(cfg_parse_duration("5s", &v), 0);
	assert_int_equal(v, 5000);
	assert_int_equal(cfg_parse_duration("2m", &v), 0);
	assert_int_equal(v, 120000);
	assert_int_equal(cfg_parse_duration("1h", &v), 0);
	assert_int_equal(v, 3600000);
	assert_int_equal(cfg_parse_duration("0", &v), 0);
	assert_int_equal(v, 0);
	v = 7;
	assert_int_equal(cfg_parse_duration("5 s", &v), -EINVAL);
	assert_int_equal(cfg_parse_duration("5S", &v), -EINVAL);
	assert_int_equal(cfg_parse_duration("5sec", &v), -EINVAL);
	assert_int_equal(cfg_parse_duration("1.5s", &v), -EINVAL);
	assert_int_equal(cfg_parse_duration("ms", &v), -EINVAL);
	assert_int_equal(cfg_parse_duration("-5s", &v), -EINVAL);
	assert_int_equal(cfg_parse_duration("5d", &v), -EINVAL);
	assert_int_equal(cfg_parse_duration("18446744073709551615h", &v), -ERANGE);
	assert_int_equal(cfg_parse_duration("99999999999999999999999ms", &v), -ERANGE);
	assert_int_equal(cfg_parse_duration("99999999999999999999999x", &v), -EINVAL);
	assert_int_equal(v, 7);

	assert_int_equal(cfg_parse_size("4096", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(cfg_parse_size("4k", &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(cfg_parse_size("64m", &v), 0);
	assert_int_equal(v, 64 * 1024 * 1024);
	v = 7;
	assert_int_equal(cfg_parse_size("4kb", &v), -EINVAL);
	assert_int_equal(cfg_parse_size("4g", &v), -EINVAL);
	assert_int_equal(cfg_parse_size("k", &v), -EINVAL);
	assert_int_equal(cfg_parse_size("18014398509481984k", &v), -ERANGE);
	assert_int_equal(v, 7);

	assert_int_equal(cfg_parse_bool("YES", &b), 0);
	assert_true(b);
	assert_int_equal(cfg_parse_bool("off", &b), 0);
	assert_false(b);
	assert_int_equal(cfg_parse_bool("1", &b), 0);
	assert_true(b);
	assert_int_equal(cfg_parse_bool("0", &b), 0);
	assert_false(b);
	assert_int_equal(cfg_parse_bool("2", &b), -EINVAL);
	assert_int_equal(cfg_parse_bool("", &b), -EINVAL);
	assert_int_equal(cfg_parse_bool("truee", &b), -EINVAL);
}

static void test_format_round_trip(void **state)
{
	static const uint64_t durations[] = {0, 1, 250, 1000, 1500, 60000, 90000, 3600000, 7200001};
	static const uint64_t sizes[] = {0, 1, 1000, 1024, 4096, 5000, 1048576, 67108864, 1049600};
	char buf[24];
	uint64_t v;

	for (size_t i = 0; i < sizeof(durations) / sizeof(durations[0]); i++) {
		cfg_format_duration(durations[i], buf, sizeof(buf));
		assert_int_equal(cfg_parse_duration(buf, &v), 0);
		assert_true(v == durations[i]);
	}
	cfg_format_duration(5000, buf, sizeof(buf));
	assert_string_equal(buf, "5s");
	cfg_format_duration(600000, buf, sizeof(buf));
	assert_string_equal(buf, "10m");
	cfg_format_duration(100, buf, sizeof(buf));
	assert_string_equal(buf, "100ms");
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		cfg_format_size(sizes[i], buf, sizeof(buf));
		assert_int_equal(cfg_parse_size(buf, &v), 0);
		assert_true(v == sizes[i]);
	}
	cfg_format_size(262144, buf, sizeof(buf));
	assert_string_equal(buf, "256k");
}

static void test_durations_and_sizes_in_file(void **state)
{
	struct arena_config c;

	load_ok("[server]\ndrain_timeout = 250ms\nheartbeat_timeout = 2m\ncrash_window = 1h\n"
	        "save_interval = 90\n[limits]\noutput_buffer = 4k\nidle_timeout = 1s\n"
	        "[game]\nresume_grace = 0\n",
	        &c);
	assert_int_equal(c.drain_timeout_ms, 250);
	assert_int_equal(c.heartbeat_timeout_ms, 120000);
	assert_int_equal(c.crash_window_ms, 3600000);
	assert_int_equal(c.save_interval_ms, 90000);
	assert_int_equal(c.output_buffer, 4096);
	assert_int_equal(c.idle_timeout_ms, 1000);
	assert_int_equal(c.resume_grace_ms, 0);
	load_ok("[limits]\noutput_buffer = 64m\n", &c);
	assert_int_equal(c.output_buffer, 64 * 1024 * 1024);

	expect_error("[server]\ndrain_timeout = 99ms\n", -ERANGE, "t.conf:2:", "drain_timeout",
	             "100ms..10m", NULL);
	expect_error("[server]\ndrain_timeout = 11m\n", -ERANGE, "t.conf:2:", "100ms..10m", NULL);
	expect_error("[server]\ndrain_timeout = 5 min\n", -EINVAL, "t.conf:2:", "drain_timeout",
	             "ms, s, m or h", NULL);
	expect_error("[limits]\noutput_buffer = 4095\n", -ERANGE, "t.conf:2:", "output_buffer",
	             "4k..64m", NULL);
	expect_error("[limits]\noutput_buffer = 65537k\n", -ERANGE, "t.conf:2:", "4k..64m", NULL);
	expect_error("[limits]\noutput_buffer = 1g\n", -EINVAL, "t.conf:2:", "output_buffer",
	             "suffix k or m", NULL);
	expect_error("[limits]\nrequest_rate = 0\n", -ERANGE, "t.conf:2:", "request_rate",
	             "1..1000", NULL);
	expect_error("[limits]\nrequest_rate = 1001\n", -ERANGE, "t.conf:2:", "request_rate", NULL);
	expect_error("[limits]\nrequest_burst = 0\n", -ERANGE, "t.conf:2:", "request_burst",
	             "1..10000", NULL);
	expect_error("[limits]\nrequest_burst = 10001\n", -ERANGE, "t.conf:2:", "request_burst",
	             NULL);
	expect_error("[limits]\nmax_rooms_per_ip = 0\n", -ERANGE, "t.conf:2:", "max_rooms_per_ip",
	             "1..65535", NULL);
	expect_error("[limits]\nmax_rooms_per_ip = 65536\n", -ERANGE,
	             "t.conf:2:", "max_rooms_per_ip", NULL);
	load_ok("[limits]\nmax_rooms_per_ip = 65535\n", &c);
	assert_int_equal(c.max_rooms_per_ip, 65535);
	expect_error("[game]\nresume_grace = 2h\n", -ERANGE, "t.conf:2:", "resume_grace", "0s..1h",
	             NULL);
}

static void test_other_values(void **state)
{
	struct arena_config c;

	load_ok("[server]\nlog_level = debug\nstate_dir = /srv/arena state\nworkers = 3\n"
	        "[testing]\nfault_injection = yes\n",
	        &c);
	assert_int_equal(c.log_level, ARENA_LOG_DEBUG);
	assert_string_equal(c.state_dir, "/srv/arena state");
	assert_int_equal(c.workers, 3);
	assert_true(c.fault_injection);
	load_ok("[server]\nlog_level = err ; inline comment\n", &c);
	assert_int_equal(c.log_level, ARENA_LOG_ERR);
	assert_string_equal(arena_log_level_name(ARENA_LOG_WARNING), "warning");
	assert_string_equal(arena_log_level_name(ARENA_LOG_NOTICE), "notice");

	load_ok("[server]\nworkers = 0\n", &c);
	assert_true(c.workers >= 1 && c.workers <= 256); /* resolved to the CPU count */

	expect_error("[server]\nlog_level = verbose\n", -EINVAL, "t.conf:2:", "log_level",
	             "err, warning, notice, info or debug", NULL);
	expect_error("[server]\nstate_dir = var/lib/arena\n", -EINVAL, "t.conf:2:", "state_dir",
	             "absolute path", NULL);
	expect_error("[server]\nstate_dir =\n", -EINVAL, "t.conf:2:", "state_dir", NULL);
	expect_error("[server]\nstate_dir = /a\x01"
	             "b\n",
	             -EINVAL, "t.conf:2:", "'/a?b'", NULL);
	expect_error("[testing]\nfault_injection = maybe\n", -EINVAL,
	             "t.conf:2:", "fault_injection", "true, false", NULL);
}

static void round_trip(const struct arena_config *c);

/* proxy_protocol (one mode, or one per listener), proxy_trusted (networks) and redis. */
static void test_proxy_and_redis(void **state)
{
	struct arena_config c;
	enum arena_proxy_mode m;
	uint8_t a4[4] = {10, 1, 2, 3}, b4[4] = {11, 0, 0, 1}, lo6[16] = {0};

	lo6[15] = 1;
	arena_config_defaults(&c);
	assert_int_equal(c.nproxy_protocol, 1);
	assert_int_equal(c.proxy_protocol[0], ARENA_PROXY_OFF);
	assert_int_equal(c.nproxy_trusted, 0);
	assert_string_equal(c.redis.text, "");

	load_ok("[server]\nproxy_protocol = v2\nproxy_trusted = 10.0.0.0/8, ::1\n"
	        "redis = 127.0.0.1:6379\n",
	        &c);
	assert_int_equal(c.nproxy_protocol, 1);
	assert_int_equal(arena_proxy_mode_of(&c, 3, 4, &m), 0);
	assert_int_equal(m, ARENA_PROXY_V2);
	assert_int_equal(c.nproxy_trusted, 2);
	assert_string_equal(c.proxy_trusted[0].text, "10.0.0.0/8");
	assert_string_equal(c.proxy_trusted[1].text, "::1/128");
	assert_true(arena_proxy_trusted(&c, AF_INET, a4));
	assert_false(arena_proxy_trusted(&c, AF_INET, b4));
	assert_true(arena_proxy_trusted(&c, AF_INET6, lo6));
	lo6[15] = 2;
	assert_false(arena_proxy_trusted(&c, AF_INET6, lo6));
	assert_string_equal(c.redis.text, "127.0.0.1:6379");

	load_ok("[server]\nlisten = 127.0.0.1:1 127.0.0.1:2 127.0.0.1:3\n"
	        "proxy_protocol = off v1 optional\nproxy_trusted = 127.0.0.1 10.2.0.0/15\n",
	        &c);
	assert_int_equal(c.nproxy_protocol, 3);
	assert_int_equal(arena_proxy_mode_of(&c, 1, 3, &m), 0);
	assert_int_equal(m, ARENA_PROXY_V1);
	assert_int_equal(arena_proxy_mode_of(&c, 2, 3, &m), 0);
	assert_int_equal(m, ARENA_PROXY_OPTIONAL);
	assert_int_equal(arena_proxy_mode_of(&c, 0, 2, &m), -EINVAL); /* 3 modes, 2 sockets */
	a4[0] = 10, a4[1] = 3;
	assert_true(arena_proxy_trusted(&c, AF_INET, a4)); /* 10.3.x.x is in 10.2.0.0/15 */
	a4[1] = 4;
	assert_false(arena_proxy_trusted(&c, AF_INET, a4));
	round_trip(&c);
	assert_string_equal(arena_proxy_mode_name(ARENA_PROXY_OPTIONAL), "optional");

	expect_error("[server]\nproxy_protocol = v3\n", -EINVAL, "t.conf:2:", "proxy_protocol",
	             "off, v1, v2 or optional", NULL);
	expect_error("[server]\nproxy_protocol =\n", -EINVAL, "t.conf:2:", "empty", NULL);
	expect_error("[server]\nproxy_protocol = v2\n", -EINVAL, "t.conf:2:", "proxy_trusted",
	             "empty", NULL);
	expect_error("[server]\nproxy_protocol = v1\nproxy_trusted = 10.0.0.1/8\n", -EINVAL,
	             "t.conf:3:", "'10.0.0.1/8'", "host bits zero", NULL);
	expect_error("[server]\nproxy_trusted = 10.0.0.0/33\n", -ERANGE,
	             "t.conf:2:", "'10.0.0.0/33'", "/32", NULL);
	expect_error("[server]\nproxy_trusted = lb.example\n", -EINVAL, "t.conf:2:", "'lb.example'",
	             NULL);
	expect_error("[server]\nproxy_trusted = 1.1.1.1 1.1.1.2 1.1.1.3 1.1.1.4 1.1.1.5 1.1.1.6 "
	             "1.1.1.7 1.1.1.8 1.1.1.9 1.1.1.10 1.1.1.11 1.1.1.12 1.1.1.13 1.1.1.14 "
	             "1.1.1.15 1.1.1.16 1.1.1.17\n",
	             -EINVAL, "t.conf:2:", "at most 16", NULL);
	expect_error("[server]\nredis = localhost:6379\n", -EINVAL, "t.conf:2:", "redis", NULL);
}

/* ---- Error classes ---------------------------------------------------------------------- */

static void test_error_unknown_section(void **state)
{
	expect_error("[server]\nworkers = 2\n[gmae]\ntick_rate = 5\n", -EINVAL,
	             "t.conf:3:", "unknown section [gmae]", "did you mean [game]?", NULL);
	/* an empty misspelt section is still an error, reported at its header */
	expect_error("[game]\n\n[extra]\n", -EINVAL, "t.conf:3:", "unknown section [extra]",
	             "[server], [limits], [game] and [testing]", NULL);
	expect_error("[game] junk\n", -EINVAL, "t.conf:1:", "after section header", NULL);
}

static void test_error_unknown_key(void **state)
{
	struct arena_config_error e;
	struct arena_config c;

	assert_int_equal(arena_config_load_string("[game]\nmax_rooms = 5\n\ntick_rat = 5\n",
	                                          "/etc/arena/arenad.conf", &c, &e),
	                 -EINVAL);
	assert_string_equal(e.text, "/etc/arena/arenad.conf:4: unknown key 'tick_rat' in [game] "
	                            "(did you mean 'tick_rate'?)");
	expect_error("[limits]\nflood_kik = 1\n", -EINVAL, "t.conf:2:", "'flood_kick'", NULL);
	expect_error("[game]\nfrobnicate = 1\n", -EINVAL,
	             "t.conf:2:", "unknown key 'frobnicate' in [game]", "valid keys are",
	             "tick_rate", "leaderboard_size", NULL);
	expect_error("[server]\ntick_rate = 5\n", -EINVAL, "t.conf:2:", "'tick_rate' in [server]",
	             "belongs in [game]", NULL);
	expect_error("[server]\nWorkers = 5\n", -EINVAL, "t.conf:2:", "'Workers'", "'workers'",
	             NULL);
}

static void test_error_malformed_value(void **state)
{
	expect_error("[server]\nworkers = four\n", -EINVAL, "t.conf:2:", "'four'", "workers",
	             "[server]", "0..256", NULL);
	expect_error("[server]\nworkers = -1\n", -EINVAL, "t.conf:2:", "workers", NULL);
	expect_error("[server]\nworkers = 0x10\n", -EINVAL, "t.conf:2:", "workers", NULL);
	expect_error("[server]\nworkers = 4x\n", -EINVAL, "t.conf:2:", "workers", NULL);
	expect_error("[server]\nworkers =\n", -EINVAL, "t.conf:2:", "workers", NULL);
	expect_error("[server]\nworkers = 4 # four\n", -EINVAL, "t.conf:2:", "start with ';'",
	             NULL);
	expect_error("[game]\ntick_rate = 1e3\n", -EINVAL, "t.conf:2:", "tick_rate", NULL);
}

static void test_error_out_of_range(void **state)
{
	expect_error("[game]\ntick_rate = 101\n", -ERANGE, "t.conf:2:", "tick_rate",
	             "allowed range is 1..100", NULL);
	expect_error("[game]\ntick_rate = 0\n", -ERANGE, "t.conf:2:", "1..100", NULL);
	expect_error("[server]\nworkers = 257\n", -ERANGE, "t.conf:2:", "0..256", NULL);
	expect_error("[server]\nmax_clients = 99999999999999999999999\n", -ERANGE,
	             "t.conf:2:", "max_clients", "1..1000000", NULL);
	expect_error("[limits]\nmax_payload = 8193\n", -ERANGE, "t.conf:2:", "64..8192", NULL);
	expect_error("[game]\nroom_width = 1\n", -ERANGE, "t.conf:2:", "2..4096", NULL);
	expect_error("[game]\nroom_capacity = 65\n", -ERANGE, "t.conf:2:", "1..64", NULL);
	expect_error("[game]\ngems_per_room = 33\n", -ERANGE, "t.conf:2:", "0..32", NULL);
	expect_error("[server]\nbacklog = 65536\n", -ERANGE, "t.conf:2:", "1..65535", NULL);
}

static void test_error_duplicate_key(void **state)
{
	expect_error("[game]\ntick_rate = 5\nmax_rooms = 3\ntick_rate = 6\n", -EINVAL,
	             "t.conf:4:", "duplicate key 'tick_rate' in [game]", "first set on line 2",
	             NULL);
	/* a section may be reopened, but a key is still set once */
	expect_error("[game]\ntick_rate = 5\n[server]\nworkers = 1\n[game]\ntick_rate = 6\n",
	             -EINVAL, "t.conf:6:", "duplicate key 'tick_rate'", NULL);
}

static void test_error_key_outside_section(void **state)
{
	expect_error("workers = 2\n[server]\n", -EINVAL, "t.conf:1:", "'workers'",
	             "outside any section", "[server]", NULL);
	expect_error("; comment\nbogus = 2\n", -EINVAL, "t.conf:2:", "'bogus'", "outside", NULL);
}

static void test_error_syntax(void **state)
{
	expect_error("[server]\nworkers 4\n", -EINVAL, "t.conf:2:", "syntax error", "'workers 4'",
	             "key = value", NULL);
	expect_error("[server]\nworkers = 2\n[game\ntick_rate = 5\n", -EINVAL,
	             "t.conf:3:", "no closing ']'", NULL);
	/* the first problem wins: a syntax error before an unknown key */
	expect_error("[game]\nnonsense\nno_such_key = 1\n", -EINVAL, "t.conf:2:", "syntax error",
	             NULL);
	/* an unknown key before a syntax error */
	expect_error("[game]\nno_such_key = 1\nnonsense\n", -EINVAL, "t.conf:2:", "no_such_key",
	             NULL);
}

static void test_error_continuation(void **state)
{
	expect_error("[server]\nworkers = 2\n  3\n", -EINVAL, "t.conf:3:", "'workers'",
	             "only listen", NULL);
}

static void test_long_lines(void **state)
{
	char text[600], path[300];
	struct arena_config c;
	size_t n;

	/* "state_dir = " is 12 characters: a path of 185 makes a 197-character line */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[185] = '\0';
	n = (size_t)snprintf(text, sizeof(text), "[server]\nstate_dir = %s\n", path);
	assert_true(n < sizeof(text));
	load_ok(text, &c);
	assert_string_equal(c.state_dir, path);
	/* the same with CRLF line ends */
	snprintf(text, sizeof(text), "[server]\r\nstate_dir = %s\r\n", path);
	load_ok(text, &c);
	assert_string_equal(c.state_dir, path);

	path[185] = 'a';
	path[186] = '\0';
	snprintf(text, sizeof(text), "[server]\nstate_dir = %s\nworkers = 2\n", path);
	expect_error(text, -EINVAL, "t.conf:2:", "line too long (198 characters)", "at most 197",
	             NULL);
	/* a long comment is also refused, not split into pieces */
	memset(text, 0, sizeof(text));
	memcpy(text, "[game]\n# ", 9);
	memset(text + 9, 'x', 400);
	strcat(text, "\n");
	expect_error(text, -EINVAL, "t.conf:2:", "line too long", NULL);
}

static void test_size_limit_and_nul(void **state)
{
	size_t big = CFG_FILE_MAX + 1;
	char *text = malloc(big + 1);
	struct arena_config_error e;
	struct arena_config c;
	struct arena_cli cli;
	const char *path;

	assert_non_null(text);
	memset(text, '\n', big);
	text[big] = '\0';
	expect_error(text, -EFBIG, "t.conf:", "at most 1048576 bytes", NULL);
	path = write_file("big.conf", text, big);
	cli = cli_for(path);
	assert_int_equal(arena_config_load(&cli, &c, &e), -EFBIG);
	assert_non_null(strstr(e.text, "big.conf:"));
	/* exactly the limit is fine */
	text[big - 1] = '\0';
	load_ok(text, &c);
	free(text);

	path = write_file("nul.conf", "[game]\ntick_rate = 5\x00\n", 22);
	cli = cli_for(path);
	assert_int_equal(arena_config_load(&cli, &c, &e), -EINVAL);
	assert_non_null(strstr(e.text, "nul.conf:2:"));
	assert_non_null(strstr(e.text, "NUL"));
}

static void test_error_unreadable_file(void **state)
{
	struct arena_config c, before;
	struct arena_config_error e;
	struct arena_cli cli;
	char path[160];

	snprintf(path, sizeof(path), "%s/missing.conf", tmpdir);
	cli = cli_for(path);
	memset(&c, 0x5A, sizeof(c));
	before = c;
	assert_int_equal(arena_config_load(&cli, &c, &e), -ENOENT);
	assert_memory_equal(&c, &before, sizeof(c));
	{
		char want[300];

		snprintf(want, sizeof(want), "%s: cannot read: No such file or directory", path);
		assert_string_equal(e.text, want);
	}
	/* a default path that is absent (no -c) just means defaults */
	cli.config_given = false;
	assert_int_equal(arena_config_load(&cli, &c, &e), 0);

	cli = cli_for(tmpdir);
	assert_int_equal(arena_config_load(&cli, &c, &e), -EISDIR);
	assert_non_null(strstr(e.text, "cannot read: Is a directory"));

	if (geteuid() != 0) { /* root reads anything */
		const char *p = write_file("noperm.conf", "[game]\n", SIZE_MAX);

		assert_int_equal(chmod(p, 0), 0);
		cli = cli_for(p);
		assert_int_equal(arena_config_load(&cli, &c, &e), -EACCES);
		assert_non_null(strstr(e.text, "cannot read: Permission denied"));
	}
}

static void test_error_cross_field(void **state)
{
	expect_error("[server]\nmax_clients = 100\nmax_clients_per_ip = 101\n", -EINVAL,
	             "t.conf:3:", "max_clients_per_ip (101)", "max_clients (100)", NULL);
	expect_error("[server]\nmax_clients_per_ip = 500\n\nmax_clients = 100\n", -EINVAL,
	             "t.conf:4:", "max_clients_per_ip", NULL);
	expect_error("[game]\nroom_capacity = 20\nmax_players = 10\n", -EINVAL,
	             "t.conf:3:", "room_capacity (20)", "max_players (10)", NULL);
	expect_error("[game]\ngems_per_room = 4\nroom_width = 2\nroom_height = 2\n", -EINVAL,
	             "t.conf:4:", "gems_per_room (4)", "2x2", NULL);

	struct arena_config c;

	load_ok("[game]\ngems_per_room = 3\nroom_width = 2\nroom_height = 2\n", &c);
	assert_int_equal(c.gems_per_room, 3);
	load_ok("[server]\nmax_clients = 100\nmax_clients_per_ip = 100\n", &c);
}

static void test_bom_crlf_and_comments(void **state)
{
	struct arena_config c;

	load_ok("\xEF\xBB\xBF[game]\r\ntick_rate = 7\r\n  ; indented comment\r\n"
	        "# hash comment\r\nmax_rooms : 9\r\n",
	        &c);
	assert_int_equal(c.tick_rate, 7);
	assert_int_equal(c.max_rooms, 9);
}

/* ---- Listen ----------------------------------------------------------------------------- */

static void test_listen_parse(void **state)
{
	static const struct {
		const char *in, *out;
		int family;
		unsigned port;
	} good[] = {
	    {"127.0.0.1:7777", "127.0.0.1:7777", AF_INET, 7777},
	    {"*:80", "0.0.0.0:80", AF_INET, 80},
	    {":65535", "0.0.0.0:65535", AF_INET, 65535},
	    {"[::1]:7777", "[::1]:7777", AF_INET6, 7777},
	    {"[::]:1", "[::]:1", AF_INET6, 1},
	    {"[0:0:0::1]:07777", "[::1]:7777", AF_INET6, 7777},
	    {"[2001:DB8::5]:9000", "[2001:db8::5]:9000", AF_INET6, 9000},
	    {"[::ffff:10.0.0.1]:5", "[::ffff:10.0.0.1]:5", AF_INET6, 5},
	};
	static const char *const bad[] = {
	    "",
	    "1.2.3.4",
	    "1.2.3.4:",
	    "::1:7777",
	    "[::1]7777",
	    "[::1]",
	    "[::1:80",
	    "[]:80",
	    "[1.2.3.4]:80",
	    "localhost:80",
	    "[fe80::1%eth0]:80",
	    "1.2.3.256:80",
	    "1.2.3:80",
	    "1.2.3.4:+80",
	    "1.2.3.4: 80",
	    " 1.2.3.4:80",
	    "1.2.3.4:80x",
	    "1.2.3.4:0x50",
	    "*:*",
	    "0000000000000000000000000000000000000000000000000000000001.2.3.4:80",
	};
	struct arena_listen l, keep;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		memset(&l, 0, sizeof(l));
		if (arena_listen_parse(good[i].in, &l) != 0)
			fail_msg("'%s' refused", good[i].in);
		assert_string_equal(l.text, good[i].out);
		assert_int_equal(l.addr.ss_family, good[i].family);
		if (good[i].family == AF_INET) {
			assert_int_equal(l.addrlen, sizeof(struct sockaddr_in));
			assert_int_equal(ntohs(((struct sockaddr_in *)&l.addr)->sin_port),
			                 good[i].port);
		} else {
			assert_int_equal(l.addrlen, sizeof(struct sockaddr_in6));
			assert_int_equal(ntohs(((struct sockaddr_in6 *)&l.addr)->sin6_port),
			                 good[i].port);
		}
	}
	memset(&keep, 0x77, sizeof(keep));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		l = keep;
		if (arena_listen_parse(bad[i], &l) != -EINVAL)
			fail_msg("'%s' not refused as malformed", bad[i]);
		assert_memory_equal(&l, &keep, sizeof(l));
	}
	assert_int_equal(arena_listen_parse("1.2.3.4:0", &l), -ERANGE);
	assert_int_equal(arena_listen_parse("1.2.3.4:65536", &l), -ERANGE);
	assert_int_equal(arena_listen_parse("[::1]:99999999999999999999999", &l), -ERANGE);
	assert_memory_equal(&l, &keep, sizeof(l));
}

static void test_listen_in_file(void **state)
{
	struct arena_config c;
	char text[2048];
	size_t n;

	load_ok("[server]\nlisten = 127.0.0.1:7000, [::1]:7001 *:7002,,\t:7003\n", &c);
	assert_int_equal(c.nlisten, 4);
	assert_string_equal(c.listen[0].text, "127.0.0.1:7000");
	assert_string_equal(c.listen[1].text, "[::1]:7001");
	assert_string_equal(c.listen[2].text, "0.0.0.0:7002");
	assert_string_equal(c.listen[3].text, "0.0.0.0:7003");

	/* continuation lines append to listen */
	load_ok(
	    "[server]\nlisten = 127.0.0.1:7000\n   [::1]:7001,\n\t127.0.0.2:7002\nworkers = 2\n",
	    &c);
	assert_int_equal(c.nlisten, 3);
	assert_string_equal(c.listen[2].text, "127.0.0.2:7002");
	assert_int_equal(c.workers, 2);

	expect_error("[server]\nlisten = 127.0.0.1:7000 127.0.0.1:7000\n", -EINVAL,
	             "t.conf:2:", "'127.0.0.1:7000'", "twice", NULL);
	expect_error("[server]\nlisten = *:80\n  0.0.0.0:80\n", -EINVAL, "t.conf:3:", "twice",
	             NULL);
	expect_error("[server]\nlisten = ,\n", -EINVAL, "t.conf:2:", "listen is empty", NULL);
	expect_error("[server]\nlisten = localhost:7777\n", -EINVAL,
	             "t.conf:2:", "'localhost:7777'", "IPV4:PORT, [IPV6]:PORT or *:PORT", NULL);
	expect_error("[server]\nlisten = 1.2.3.4:70000\n", -ERANGE, "t.conf:2:", "1..65535", NULL);

	/* 16 addresses are fine, 17 are not */
	n = (size_t)snprintf(text, sizeof(text), "[server]\nlisten =");
	for (int i = 0; i < 16; i++) {
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s127.0.0.1:%d\n",
		                      i ? "  " : " ", 1000 + i);
	}
	load_ok(text, &c);
	assert_int_equal(c.nlisten, 16);
	assert_string_equal(c.listen[15].text, "127.0.0.1:1015");
	snprintf(text + n, sizeof(text) - n, "  127.0.0.1:2000\n");
	expect_error(text, -EINVAL, "t.conf:18:", "too many listen addresses", "at most 16", NULL);
}

/* ---- Precedence and the command line ---------------------------------------------------- */

static int parse_args(struct arena_cli *cli, struct arena_config_error *e, ...)
{
	char *argv[64];
	int argc = 0;
	va_list ap;
	char *a;

	argv[argc++] = (char *)"arenad";
	va_start(ap, e);
	while ((a = va_arg(ap, char *)) && argc < 63)
		argv[argc++] = a;
	va_end(ap);
	argv[argc] = NULL;
	return arena_cli_parse(argc, argv, cli, e);
}

static void test_precedence(void **state)
{
	const char *path = write_file("prec.conf",
	                              "[server]\nworkers = 3\nlisten = 127.0.0.1:9000\n"
	                              "[game]\ntick_rate = 30\n",
	                              SIZE_MAX);
	struct arena_config_error e = {{0}};
	struct arena_config c;
	struct arena_cli cli;
	char conf_path[200];

	snprintf(conf_path, sizeof(conf_path), "%s", path);

	/* defaults < file */
	assert_int_equal(parse_args(&cli, &e, "-c", conf_path, NULL), 0);
	assert_int_equal(arena_config_load(&cli, &c, &e), 0);
	assert_int_equal(c.workers, 3);
	assert_int_equal(c.tick_rate, 30);
	assert_int_equal(c.nlisten, 1);
	assert_string_equal(c.listen[0].text, "127.0.0.1:9000");
	assert_int_equal(c.max_rooms, 2000); /* not in the file: default */

	/* file < flags; -l replaces the file's whole list */
	assert_int_equal(parse_args(&cli, &e, "--config", conf_path, "-w", "5", "--listen",
	                            "[::1]:7001", "-l", "127.0.0.2:7002", NULL),
	                 0);
	assert_int_equal(arena_config_load(&cli, &c, &e), 0);
	assert_int_equal(c.workers, 5);
	assert_int_equal(c.tick_rate, 30);
	assert_int_equal(c.nlisten, 2);
	assert_string_equal(c.listen[0].text, "[::1]:7001");
	assert_string_equal(c.listen[1].text, "127.0.0.2:7002");

	/* flags over defaults, no file */
	assert_int_equal(parse_args(&cli, &e, "--workers=0", "--listen=*:8000", NULL), 0);
	assert_int_equal(arena_config_load(&cli, &c, &e), 0);
	assert_true(c.workers >= 1);
	assert_int_equal(c.tick_rate, 20);
	assert_string_equal(c.listen[0].text, "0.0.0.0:8000");

	/* duplicate flags are refused at load time, with the command line named */
	assert_int_equal(parse_args(&cli, &e, "-l", "*:8000", "-l", "0.0.0.0:8000", NULL), 0);
	assert_int_equal(arena_config_load(&cli, &c, &e), -EINVAL);
	assert_non_null(strstr(e.text, "command line"));
	assert_non_null(strstr(e.text, "twice"));

	/* a bad file fails the load even with flags */
	path = write_file("bad.conf", "[game]\ntick_rate = 500\n", SIZE_MAX);
	snprintf(conf_path, sizeof(conf_path), "%s", path);
	assert_int_equal(parse_args(&cli, &e, "-c", conf_path, "-w", "2", NULL), 0);
	assert_int_equal(arena_config_load(&cli, &c, &e), -ERANGE);
	assert_non_null(strstr(e.text, "bad.conf:2:"));
}

static void test_cli_parse(void **state)
{
	struct arena_config_error e = {{0}};
	struct arena_cli cli, keep;

	assert_int_equal(parse_args(&cli, &e, NULL), 0);
	assert_int_equal(cli.action, ARENA_CLI_RUN);
	assert_false(cli.config_given);
	assert_string_equal(cli.config_path, "");
	assert_int_equal(cli.nlisten, 0);
	assert_int_equal(cli.workers, -1);
	assert_false(cli.foreground);

	assert_int_equal(parse_args(&cli, &e, "-f", "--check-config", "-c", "/x.conf", NULL), 0);
	assert_int_equal(cli.action, ARENA_CLI_CHECK);
	assert_true(cli.foreground);
	assert_true(cli.config_given);
	assert_string_equal(cli.config_path, "/x.conf");

	assert_int_equal(parse_args(&cli, &e, "-V", NULL), 0);
	assert_int_equal(cli.action, ARENA_CLI_VERSION);
	assert_int_equal(parse_args(&cli, &e, "--version", "--help", NULL), 0);
	assert_int_equal(cli.action, ARENA_CLI_HELP);
	assert_int_equal(parse_args(&cli, &e, "-h", NULL), 0);
	assert_int_equal(cli.action, ARENA_CLI_HELP);
	assert_int_equal(parse_args(&cli, &e, "-w256", "-l*:1", "--foreground", NULL), 0);
	assert_int_equal(cli.workers, 256);
	assert_int_equal(cli.nlisten, 1);
	assert_string_equal(cli.listen[0], "*:1");

	memset(&keep, 0x3C, sizeof(keep));
	cli = keep;
#define CLI_BAD(frag, ...)                                                                         \
	do {                                                                                       \
		memset(&e, 0, sizeof(e));                                                          \
		assert_int_equal(parse_args(&cli, &e, __VA_ARGS__, NULL), -EINVAL);                \
		assert_memory_equal(&cli, &keep, sizeof(cli));                                     \
		if (!strstr(e.text, frag) || !strstr(e.text, "see --help"))                        \
			fail_msg("message \"%s\" lacks \"%s\"", e.text, frag);                     \
	} while (0)
	CLI_BAD("'--bogus'", "--bogus");
	CLI_BAD("'-x'", "-x");
	CLI_BAD("'--help=yes'", "--help=yes");
	CLI_BAD("'-c' needs an argument", "-c");
	CLI_BAD("'--config' needs an argument", "--config");
	CLI_BAD("'-w' needs an argument", "-w");
	CLI_BAD("'2x'", "-w", "2x");
	CLI_BAD("'257'", "--workers", "257");
	CLI_BAD("'-1'", "--workers=-1");
	CLI_BAD("'host:80'", "-l", "host:80");
	CLI_BAD("1..65535", "-l", "1.2.3.4:0");
	CLI_BAD("unexpected argument 'extra'", "-f", "extra");
	CLI_BAD("unexpected argument 'x.conf'", "x.conf", "-f");
	CLI_BAD("--config needs a file name", "--config=");
	CLI_BAD("too many --listen", "-l", "*:1", "-l", "*:2", "-l", "*:3", "-l", "*:4", "-l",
	        "*:5", "-l", "*:6", "-l", "*:7", "-l", "*:8", "-l", "*:9", "-l", "*:10", "-l",
	        "*:11", "-l", "*:12", "-l", "*:13", "-l", "*:14", "-l", "*:15", "-l", "*:16", "-l",
	        "*:17");
#undef CLI_BAD
}

static void test_cli_usage(void **state)
{
	static const char *const expect[] = {
	    "Usage: arenad",
	    "--config=FILE",
	    "--listen=ADDR:PORT",
	    "--workers=N",
	    "--check-config",
	    "--foreground",
	    "--version",
	    "--help",
	    "TERM",
	    "HUP",
	    "78",
	    "/arenad.conf",
	};
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	arena_cli_usage(f, "arenad");
	assert_int_equal(fclose(f), 0);
	for (size_t i = 0; i < sizeof(expect) / sizeof(expect[0]); i++) {
		if (!strstr(text, expect[i]))
			fail_msg("--help lacks \"%s\"", expect[i]);
	}
	for (char *line = text; *line;) {
		char *nl = strchr(line, '\n');
		size_t n = nl ? (size_t)(nl - line) : strlen(line);

		assert_true(n <= 90);
		line += n + (nl ? 1 : 0);
	}
	free(text);
}

/* ---- Dump ------------------------------------------------------------------------------- */

static void round_trip(const struct arena_config *c)
{
	struct arena_config back;
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	assert_non_null(f);
	arena_config_dump(c, f);
	assert_int_equal(fclose(f), 0);
	load_ok(text, &back);
	if (!cfg_equal(c, &back))
		fail_msg("dump did not round-trip:\n%s", text);
	free(text);
}

static void test_dump_round_trip(void **state)
{
	struct arena_config c;
	char text[4096];
	size_t n;

	arena_config_defaults(&c);
	round_trip(&c);

	load_ok("[server]\nlisten = 127.0.0.1:1, [::]:2\nworkers = 7\nmax_clients = 300\n"
	        "max_clients_per_ip = 3\nbacklog = 9\nlog_level = notice\nstate_dir = /tmp/s d\n"
	        "drain_timeout = 1500ms\nheartbeat_timeout = 200ms\ncrash_limit = 1000\n"
	        "crash_window = 1h\nsave_interval = 61\n"
	        "[limits]\nmax_payload = 8192\nhandshake_timeout = 100ms\nidle_timeout = 3599s\n"
	        "output_buffer = 5000\ninput_rate = 1\ninput_burst = 10000\nchat_rate = 1000\n"
	        "chat_burst = 1\nrequest_rate = 1000\nrequest_burst = 1\nflood_kick = 1000000\n"
	        "[game]\ntick_rate = 100\nmax_players = 64\nmax_rooms = 1\nroom_width = 4096\n"
	        "room_height = 2\nroom_capacity = 64\ngems_per_room = 0\nresume_grace = 0\n"
	        "leaderboard_size = 100\n[testing]\nfault_injection = on\n",
	        &c);
	assert_int_equal(c.idle_timeout_ms, 3599000);
	assert_int_equal(c.output_buffer, 5000);
	assert_int_equal(c.request_rate, 1000);
	assert_int_equal(c.request_burst, 1);
	round_trip(&c);

	/* a full list of long IPv6 addresses needs continuation lines in the dump */
	n = (size_t)snprintf(text, sizeof(text), "[server]\nlisten =");
	for (int i = 0; i < 16; i++)
		n += (size_t)snprintf(text + n, sizeof(text) - n,
		                      "%s[2001:db8:1111:2222:3333:4444:5555:%x]:6%04d\n",
		                      i ? "  " : " ", 0x1000 + i, 5000 + i);
	load_ok(text, &c);
	assert_int_equal(c.nlisten, 16);
	round_trip(&c);
}

static void test_edit_distance(void **state)
{
	assert_int_equal(cfg_edit_distance("tick_rate", "tick_rate", 2), 0);
	assert_int_equal(cfg_edit_distance("tick_rat", "tick_rate", 2), 1);
	assert_int_equal(cfg_edit_distance("tikc_rate", "tick_rate", 2), 1);
	assert_int_equal(cfg_edit_distance("tick_rte", "tick_rate", 2), 1);
	assert_int_equal(cfg_edit_distance("tock_rat", "tick_rate", 2), 2);
	assert_int_equal(cfg_edit_distance("workers", "tick_rate", 2), 3);
	assert_int_equal(cfg_edit_distance("", "ab", 2), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_equal_sees_every_key),
	    cmocka_unit_test(test_empty_and_no_file_are_defaults),
	    cmocka_unit_test(test_sample_file_loads),
	    cmocka_unit_test(test_value_parsers),
	    cmocka_unit_test(test_format_round_trip),
	    cmocka_unit_test(test_durations_and_sizes_in_file),
	    cmocka_unit_test(test_other_values),
	    cmocka_unit_test(test_proxy_and_redis),
	    cmocka_unit_test(test_error_unknown_section),
	    cmocka_unit_test(test_error_unknown_key),
	    cmocka_unit_test(test_error_malformed_value),
	    cmocka_unit_test(test_error_out_of_range),
	    cmocka_unit_test(test_error_duplicate_key),
	    cmocka_unit_test(test_error_key_outside_section),
	    cmocka_unit_test(test_error_syntax),
	    cmocka_unit_test(test_error_continuation),
	    cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_size_limit_and_nul),
	    cmocka_unit_test(test_error_unreadable_file),
	    cmocka_unit_test(test_error_cross_field),
	    cmocka_unit_test(test_bom_crlf_and_comments),
	    cmocka_unit_test(test_listen_parse),
	    cmocka_unit_test(test_listen_in_file),
	    cmocka_unit_test(test_precedence),
	    cmocka_unit_test(test_cli_parse),
	    cmocka_unit_test(test_cli_usage),
	    cmocka_unit_test(test_dump_round_trip),
	    cmocka_unit_test(test_edit_distance),
	};

	return cmocka_run_group_tests(tests, setup_dir, remove_dir);
}
