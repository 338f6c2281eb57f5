/* log.h: the daemon's logger: one line per event, tagged with the role and pid of the process.
 *
 * Lines go to stderr with a single write each, so lines from the master and its workers never
 * interleave mid-line, and a write never waits for a reader: when stderr is a socket or a pipe
 * that is full (a slow journal, a paused `arenad | less`) the line is dropped and counted, and
 * the next line written is preceded by "N log lines dropped (stderr not writable)" at warning
 * level (log.c explains how, per kind of stderr). On a terminal or a file a line reads
 *     2026-11-25T13:00:00.123Z arenad[1234] worker.2: client 127.0.0.1:5555 kicked: too slow
 * When stderr is connected to the systemd journal (JOURNAL_STREAM names stderr's device and
 * inode) the timestamp is replaced by a syslog priority prefix such as "<4>", so journald keeps
 * the level and adds its own time: "<4>worker.2[1234]: ...". Levels are the config's
 * enum arena_log_level (syslog numbering); messages above the current level are dropped.
 * Only the daemon logs; library code returns errors instead.
 */
#ifndef ARENA_LOG_H
#define ARENA_LOG_H

#include "arena_config.h"
#include "util.h"

/* Detect whether stderr is the journal, and whether it is a socket, a pipe or something else
 * (which decides how a line is written without blocking). Call once at start (and again in
 * nothing: the worker inherits the answers across fork). */
void log_init(void);

/* Messages with a level numerically above `level` are dropped. */
void log_set_level(enum arena_log_level level);

/* The role tag printed on each line, e.g. "master" or "worker.3". The string is copied. The pid
 * is read again so a freshly forked child tags its lines with its own pid; in a new process the
 * count of dropped lines inherited from the parent is cleared (they are the parent's to report).
 */
void log_set_role(const char *role);

/* Whether a message at `level` would be printed (to skip building expensive arguments). */
int log_enabled(enum arena_log_level level);

/* Write one line at `level`, or drop and count it if stderr cannot take it now (never blocks on
 * a socket or pipe). A trailing newline in fmt is not needed. Preserves errno. */
void log_msg(enum arena_log_level level, const char *fmt, ...) _printf_(2, 3);

#define log_error(...)   log_msg(ARENA_LOG_ERR, __VA_ARGS__)
#define log_warning(...) log_msg(ARENA_LOG_WARNING, __VA_ARGS__)
#define log_notice(...)  log_msg(ARENA_LOG_NOTICE, __VA_ARGS__)
#define log_info(...)    log_msg(ARENA_LOG_INFO, __VA_ARGS__)
#define log_debug(...)   log_msg(ARENA_LOG_DEBUG, __VA_ARGS__)

#endif /* ARENA_LOG_H */
