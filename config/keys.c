/* keys.c: the table of configuration keys, the built-in defaults, and the INI dump.
 *
 * cfg_keys[] is the single list of keys: the loader (config.c) looks keys up in it for parsing,
 * range checks and suggestions, and arena_config_dump() walks it to write every key, so a key
 * cannot be loadable but missing from the dump or the other way round. The defaults are written
 * out field by field below; the sample arenad.conf repeats them and a unit test keeps the two
 * equal. The dump uses the same units as the file and wraps a long listen list on indented
 * continuation lines, so it always reads back to the configuration it came from.
 */
#include <string.h>
#include <unistd.h>

#include "arena-build.h"
#include "arena_config.h"
#include "arena_proto.h"
#include "config-internal.h"

#define SEC  1000ull
#define MIN  (60 * SEC)
#define HOUR (60 * MIN)

#define KEY(sec, field, type, lo, hi)                                                              \
	{                                                                                          \
		sec, #field, type, offsetof(struct arena_config, field), lo, hi                    \
	}
#define KEY_MS(sec, name, field, lo, hi)                                                           \
	{                                                                                          \
		sec, name, KT_DURATION, offsetof(struct arena_config, field), lo, hi               \
	}

const char *const cfg_sections[CFG_NSECTIONS] = {"server", "limits", "game", "testing"};

const struct key_def cfg_keys[] = {
    KEY("server", listen, KT_LISTEN, 1, ARENA_LISTEN_MAX),
    KEY("server", workers, KT_UINT, 0, CFG_WORKERS_MAX),
    KEY("server", max_clients, KT_UINT, 1, 1000000),
    KEY("server", max_clients_per_ip, KT_UINT, 1, 1000000),
    KEY("server", backlog, KT_UINT, 1, 65535),
    KEY("server", log_level, KT_LOG_LEVEL, 0, 0),
    KEY("server", state_dir, KT_PATH, 0, 0),
    KEY_MS("server", "drain_timeout", drain_timeout_ms, 100, 10 * MIN),
    KEY_MS("server", "heartbeat_timeout", heartbeat_timeout_ms, 200, 10 * MIN),
    KEY("server", crash_limit, KT_UINT, 1, 1000),
    KEY_MS("server", "crash_window", crash_window_ms, SEC, HOUR),
    KEY_MS("server", "save_interval", save_interval_ms, SEC, HOUR),
    KEY("server", metrics_listen, KT_ADDR, 0, 0),
    KEY("server", admin_socket, KT_SOCKPATH, 0, 0),
    KEY("server", proxy_protocol, KT_PROXY, 1, ARENA_LISTEN_MAX),
    KEY("server", proxy_trusted, KT_CIDRS, 0, ARENA_PROXY_TRUSTED_MAX),
    KEY("server", redis, KT_ADDR, 0, 0),

    KEY("limits", max_payload, KT_UINT, 64, ARENA_PAYLOAD_MAX),
    KEY_MS("limits", "handshake_timeout", handshake_timeout_ms, 100, 10 * MIN),
    KEY_MS("limits", "idle_timeout", idle_timeout_ms, SEC, HOUR),
    KEY("limits", output_buffer, KT_SIZE, 4 * 1024, 64 * 1024 * 1024),
    KEY("limits", input_rate, KT_UINT, 1, 1000),
    KEY("limits", input_burst, KT_UINT, 1, 10000),
    KEY("limits", chat_rate, KT_UINT, 1, 1000),
    KEY("limits", chat_burst, KT_UINT, 1, 1000),
    KEY("limits", request_rate, KT_UINT, 1, 1000),
    KEY("limits", request_burst, KT_UINT, 1, 10000),
    KEY("limits", flood_kick, KT_UINT, 1, 1000000),
    KEY("limits", max_rooms_per_ip, KT_UINT, 1, 65535),

    KEY("game", tick_rate, KT_UINT, 1, 100),
    KEY("game", max_players, KT_UINT, 1, 1000000),
    KEY("game", max_rooms, KT_UINT, 1, 65535),
    KEY("game", room_width, KT_UINT, 2, 4096),
    KEY("game", room_height, KT_UINT, 2, 4096),
    KEY("game", room_capacity, KT_UINT, 1, 64),
    KEY("game", gems_per_room, KT_UINT, 0, 32),
    KEY_MS("game", "keyframe_interval", keyframe_interval_ms, 100, MIN),
    KEY_MS("game", "keyframe_max", keyframe_max_ms, 100, 10 * MIN),
    KEY("game", immediate_ack, KT_BOOL, 0, 1),
    KEY_MS("game", "resume_grace", resume_grace_ms, 0, HOUR),
    KEY("game", leaderboard_size, KT_UINT, 1, 100),

    KEY("testing", fault_injection, KT_BOOL, 0, 1),
};

_Static_assert(sizeof(cfg_keys) / sizeof(cfg_keys[0]) == CFG_NKEYS, "CFG_NKEYS is stale");

static const void *cfg_key_cfield(const struct arena_config *cfg, const struct key_def *k)
{
	return (const char *)cfg + k->offset;
}

unsigned cfg_online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > CFG_WORKERS_MAX ? CFG_WORKERS_MAX : (unsigned)n;
}

void arena_config_defaults(struct arena_config *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (arena_listen_parse("0.0.0.0:7777", &ret->listen[0]) == 0)
		ret->nlisten = 1;
	ret->workers = cfg_online_cpus();
	ret->max_clients = 10000;
	ret->max_clients_per_ip = 256;
	ret->backlog = 511;
	ret->log_level = ARENA_LOG_INFO;
	snprintf(ret->state_dir, sizeof(ret->state_dir), "%s", ARENA_STATEDIR);
	snprintf(ret->admin_socket, sizeof(ret->admin_socket), "%s", ARENA_RUNDIR "/admin.sock");
	ret->drain_timeout_ms = 5 * SEC;
	ret->heartbeat_timeout_ms = 3 * SEC;
	ret->crash_limit = 5;
	ret->crash_window_ms = 30 * SEC;
	ret->save_interval_ms = 60 * SEC;
	ret->proxy_protocol[0] = ARENA_PROXY_OFF;
	ret->nproxy_protocol = 1;

	ret->max_payload = ARENA_CLIENT_PAYLOAD_DEFAULT;
	ret->handshake_timeout_ms = 5 * SEC;
	ret->idle_timeout_ms = 60 * SEC;
	ret->output_buffer = 256 * 1024;
	ret->input_rate = 20;
	ret->input_burst = 40;
	ret->chat_rate = 5;
	ret->chat_burst = 5;
	ret->request_rate = 10;
	ret->request_burst = 20;
	ret->flood_kick = 200;
	ret->max_rooms_per_ip = 64;

	ret->tick_rate = 20;
	ret->max_players = 20000;
	ret->max_rooms = 2000;
	ret->room_width = 64;
	ret->room_height = 64;
	ret->room_capacity = 16;
	ret->gems_per_room = 4;
	ret->keyframe_interval_ms = 1 * SEC;
	ret->keyframe_max_ms = 10 * SEC;
	ret->immediate_ack = true;
	ret->resume_grace_ms = 30 * SEC;
	ret->leaderboard_size = 10;

	ret->fault_injection = false;
}

/* Write "listen = A B ..." wrapped on indented continuation lines of at most ~100 columns. */
static void dump_listen(const struct arena_config *cfg, FILE *out)
{
	size_t col = strlen("listen =");

	fputs("listen =", out);

	for (unsigned i = 0; i < cfg->nlisten && i < ARENA_LISTEN_MAX; i++) {
		size_t w = strlen(cfg->listen[i].text) + 1;

		if (i > 0 && col + w > 100) {
			fputs("\n        ", out);
			col = 8;
		}
		fprintf(out, " %s", cfg->listen[i].text);
		col += w;
	}
	fputc('\n', out);
}

void arena_config_dump(const struct arena_config *cfg, FILE *out)
{
	const char *section = NULL;
	char buf[24];

	fprintf(out, "# arenad configuration (arena %s)\n", ARENA_VERSION);
	for (size_t i = 0; i < CFG_NKEYS; i++) {
		const struct key_def *k = &cfg_keys[i];

		if (!section || strcmp(section, k->section) != 0) {
			section = k->section;
			fprintf(out, "\n[%s]\n", section);
		}
		switch (k->type) {
		case KT_LISTEN:
			dump_listen(cfg, out);
			continue;
		case KT_UINT:
			fprintf(out, "%s = %u\n", k->name,
			        *(const unsigned *)cfg_key_cfield(cfg, k));
			continue;
		case KT_DURATION:
			cfg_format_duration(*(const uint32_t *)cfg_key_cfield(cfg, k), buf,
			                    sizeof(buf));
			break;
		case KT_SIZE:
			cfg_format_size(*(const size_t *)cfg_key_cfield(cfg, k), buf, sizeof(buf));
			break;
		case KT_BOOL:
			snprintf(buf, sizeof(buf), "%s",
			         *(const bool *)cfg_key_cfield(cfg, k) ? "true" : "false");
			break;
		case KT_LOG_LEVEL:
			snprintf(buf, sizeof(buf), "%s",
			         arena_log_level_name(
			             *(const enum arena_log_level *)cfg_key_cfield(cfg, k)));
			break;
		case KT_PATH:
		case KT_SOCKPATH:
			fprintf(out, "%s = %s\n", k->name, (const char *)cfg_key_cfield(cfg, k));
			continue;
		case KT_ADDR:
			fprintf(out, "%s = %s\n", k->name,
			        ((const struct arena_listen *)cfg_key_cfield(cfg, k))->text);
			continue;
		case KT_PROXY:
			fprintf(out, "%s =", k->name);
			for (unsigned j = 0; j < cfg->nproxy_protocol && j < ARENA_LISTEN_MAX; j++)
				fprintf(out, " %s", arena_proxy_mode_name(cfg->proxy_protocol[j]));
			fputc('\n', out);
			continue;
		case KT_CIDRS:
			fprintf(out, "%s =", k->name);
			for (unsigned j = 0; j < cfg->nproxy_trusted && j < ARENA_PROXY_TRUSTED_MAX;
			     j++)
				fprintf(out, " %s", cfg->proxy_trusted[j].text);
			fputc('\n', out);
			continue;
		}
		fprintf(out, "%s = %s\n", k->name, buf);
	}
}
