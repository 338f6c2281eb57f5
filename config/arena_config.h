/* arena_config.h: arenad's configuration: built-in defaults < INI file < command-line flags.
 *
 * The loader is a library: it never logs and never exits. Every failure comes back as a
 * negative errno plus a struct arena_config_error whose text names file:line, the key and what
 * is allowed, ready for the daemon to print once. A failed load leaves the output untouched, so
 * a reload that fails keeps the old configuration whole (nothing is half-applied).
 *
 * Durations are written with a unit ("250ms", "5s", "2m"; a bare number means seconds) and held
 * in milliseconds. Sizes accept "k"/"m" suffixes (powers of 1024) and are held in bytes.
 */
#ifndef ARENA_CONFIG_H
#define ARENA_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#define ARENA_LISTEN_MAX        16
#define ARENA_PATH_MAX          512
#define ARENA_SOCKPATH_MAX      108 /* sizeof(sockaddr_un.sun_path) */
#define ARENA_EX_CONFIG         78  /* sysexits.h EX_CONFIG */
#define ARENA_DEFAULT_PORT      7777
#define ARENA_PROXY_TRUSTED_MAX 16 /* proxy_trusted entries */

enum arena_log_level {
	ARENA_LOG_ERR = 3,
	ARENA_LOG_WARNING = 4,
	ARENA_LOG_NOTICE = 5,
	ARENA_LOG_INFO = 6,
	ARENA_LOG_DEBUG = 7,
};

struct arena_listen {
	struct sockaddr_storage addr;
	socklen_t addrlen;
	char text[64]; /* as written, normalised: "127.0.0.1:7777", "[::1]:7777" */
};

/* How a listener expects the PROXY protocol header (HAProxy's, v1 text or v2 binary). */
enum arena_proxy_mode {
	ARENA_PROXY_OFF = 0,  /* plain clients only */
	ARENA_PROXY_V1,       /* every connection starts with a v1 header */
	ARENA_PROXY_V2,       /* every connection starts with a v2 header */
	ARENA_PROXY_OPTIONAL, /* a v1 or v2 header, or none (a plain client) */
};

/* One proxy_trusted entry: an IPv4 or IPv6 network ("10.0.0.0/8", "::1", "127.0.0.1"). */
struct arena_cidr {
	uint16_t family;  /* AF_INET or AF_INET6 */
	uint8_t prefix;   /* 0..32 or 0..128 */
	uint8_t addr[16]; /* network byte order, host bits zero */
	char text[56];    /* normalised: "10.0.0.0/8", "::1/128" */
};

struct arena_config {
	/* [server] */
	struct arena_listen listen[ARENA_LISTEN_MAX];
	unsigned nlisten;            /* >= 1 */
	unsigned workers;            /* 1..256; 0 in the file/flag means "number of CPUs" and is
	                              * resolved by the loader, so this is never 0 after a load */
	unsigned max_clients;        /* 1..1000000, total connections accepted and served */
	unsigned max_clients_per_ip; /* 1..1000000 */
	unsigned backlog;            /* 1..65535 */
	enum arena_log_level log_level;
	char state_dir[ARENA_PATH_MAX];
	uint32_t drain_timeout_ms;             /* 100ms..10m */
	uint32_t heartbeat_timeout_ms;         /* 200ms..10m: a worker silent this long is killed */
	unsigned crash_limit;                  /* 1..1000 unexpected worker exits ... */
	uint32_t crash_window_ms;              /* ... within this window make the master give up */
	uint32_t save_interval_ms;             /* 1s..1h: leaderboard save period */
	struct arena_listen metrics_listen;    /* Prometheus /metrics; text "" (addrlen 0): off */
	char admin_socket[ARENA_SOCKPATH_MAX]; /* arenactl's Unix socket; "" = none */
	/* PROXY protocol per listener, in listener order; a single mode applies to all */
	enum arena_proxy_mode proxy_protocol[ARENA_LISTEN_MAX];
	unsigned nproxy_protocol;                                 /* 1..ARENA_LISTEN_MAX */
	struct arena_cidr proxy_trusted[ARENA_PROXY_TRUSTED_MAX]; /* who may send a header */
	unsigned nproxy_trusted;
	struct arena_listen redis; /* Redis server of a multi-node setup; text "": single node */

	/* [limits] */
	unsigned max_payload;          /* 64..ARENA_PAYLOAD_MAX: largest client frame payload */
	uint32_t handshake_timeout_ms; /* 100ms..10m: connect -> HELLO */
	uint32_t idle_timeout_ms;      /* 1s..1h: no frame from the client */
	size_t output_buffer;          /* 4k..64m: per-client pending output cap */
	unsigned input_rate;           /* 1..1000 MOVE per second, token bucket rate */
	unsigned input_burst;          /* 1..10000 bucket depth */
	unsigned chat_rate;            /* 1..1000 CHAT per 10 seconds */
	unsigned chat_burst;           /* 1..1000 */
	unsigned request_rate;         /* 1..1000 JOIN/LEAVE/LEADERBOARD_REQ/PING per second */
	unsigned request_burst;        /* 1..10000 */
	unsigned flood_kick;           /* 1..1000000 dropped inputs in a row before BYE(flood) */
	unsigned max_rooms_per_ip;     /* 1..65535 rooms open at once that were opened by a JOIN
	                                * from one IPv4 address or IPv6 /64; read per JOIN */

	/* [game] */
	unsigned tick_rate;            /* 1..100 Hz */
	unsigned max_players;          /* 1..1000000: shared-memory player table size */
	unsigned max_rooms;            /* 1..65535: room ids are u16 on the wire */
	unsigned room_width;           /* 2..4096 */
	unsigned room_height;          /* 2..4096 */
	unsigned room_capacity;        /* 1..64 */
	unsigned gems_per_room;        /* 0..32 */
	uint32_t keyframe_interval_ms; /* 100ms..1m: first keyframe after a change */
	uint32_t keyframe_max_ms;      /* 100ms..10m, >= interval: keyframes back off to this */
	bool immediate_ack;            /* a MOVE is answered at once by a SNAPSHOT to its sender */
	uint32_t resume_grace_ms;      /* 0..1h */
	unsigned leaderboard_size;     /* 1..100 */

	/* [testing]: honoured only by builds configured with -Dtest_faults=true */
	bool fault_injection;
};

/* What the command line asked for, kept so that SIGHUP can re-apply the same flags over a
 * freshly read file. */
enum arena_cli_action {
	ARENA_CLI_RUN = 0,
	ARENA_CLI_CHECK,   /* --check-config */
	ARENA_CLI_VERSION, /* --version */
	ARENA_CLI_HELP,    /* --help */
};

struct arena_cli {
	enum arena_cli_action action;
	char config_path[ARENA_PATH_MAX]; /* empty: no file, built-in defaults */
	bool config_given;                /* -c was used (a missing file is then an error) */
	char listen[ARENA_LISTEN_MAX][64];
	unsigned nlisten; /* --listen given this many times (replaces file listen) */
	int workers;      /* --workers, -1 if not given */
	bool foreground;  /* accepted for compatibility; arenad never daemonizes */
};

struct arena_config_error {
	char text[512]; /* "arenad.conf:12: unknown key 'tick_rat' in [game]; ..." */
};

/* Fill *ret with the built-in defaults (listen 0.0.0.0:7777 and [::]:7777 is not assumed:
 * the default is one IPv4 wildcard listener on 7777). Cannot fail. */
void arena_config_defaults(struct arena_config *ret);

/* Parse argv into *ret_cli. Returns 0, or -EINVAL with err->text saying what was wrong and
 * that --help lists the options. Does not read the config file. */
int arena_cli_parse(int argc, char **argv, struct arena_cli *ret_cli,
                    struct arena_config_error *err);

/* Write the --help text. */
void arena_cli_usage(FILE *out, const char *argv0);

/* Load the effective configuration: defaults, then the file named by cli (if any), then the
 * flags. Returns 0 and fills *ret, or a negative errno (-EINVAL for a bad value or key,
 * -ENOENT/-EACCES for an unreadable file, ...) with err->text filled; *ret is untouched on
 * failure. */
int arena_config_load(const struct arena_cli *cli, struct arena_config *ret,
                      struct arena_config_error *err);

/* Load from an in-memory INI text (name is used in messages as the file name). For tests and
 * the fuzzer. Same contract as arena_config_load without flags. */
int arena_config_load_string(const char *text, const char *name, struct arena_config *ret,
                             struct arena_config_error *err);

/* Print the effective configuration as a valid INI file that loads back to the same values. */
void arena_config_dump(const struct arena_config *cfg, FILE *out);

/* Parse "ADDR:PORT" ("127.0.0.1:7777", "[::1]:7777", "*:7777", ":7777") into *ret. */
int arena_listen_parse(const char *text, struct arena_listen *ret);

const char *arena_log_level_name(enum arena_log_level level);

const char *arena_proxy_mode_name(enum arena_proxy_mode mode);

/* The PROXY mode of listener i of n (a single configured mode applies to every listener).
 * -EINVAL if the config lists several modes and their number is not n. */
int arena_proxy_mode_of(const struct arena_config *cfg, unsigned i, unsigned n,
                        enum arena_proxy_mode *ret);

/* Whether an address (family AF_INET with 4 bytes or AF_INET6 with 16, network order) is in
 * proxy_trusted. */
bool arena_proxy_trusted(const struct arena_config *cfg, int family, const uint8_t *addr);

#endif /* ARENA_CONFIG_H */
