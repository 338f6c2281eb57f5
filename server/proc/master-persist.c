/* master-persist.c: the master's half of persistence: load the saved leaderboard into the world
 * before any worker starts, and save it every save_interval and at shutdown.
 *
 * The scores are read with world_scores_export(), a lock-free seqlock copy, so the master still
 * never takes a lock in shared memory; the file format and its crash safety are world/persist.c.
 * Persistence is best effort: a state directory that cannot be made or read is logged once and
 * the game runs without it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "master-internal.h"
#include "persist.h"
#include "world.h"

void master_persist_start(struct master *m)
{
	char aside[ARENA_PATH_MAX] = "";
	size_t n = 0;
	int r;

	m->scores_cap = world_scores_capacity(m->world);
	m->scores = calloc(m->scores_cap ? m->scores_cap : 1, sizeof(*m->scores));
	if (!m->scores) {
		log_warning(
		    "Out of memory for the score table copy; continuing without persistence");
		return;
	}
	r = persist_mkdir(m->cfg.state_dir);
	if (r < 0) {
		log_warning("Cannot create state directory %s: %s; continuing without persistence",
		            m->cfg.state_dir, strerror(-r));
		return;
	}
	if (m->adopted) { /* a live upgrade: the world already holds the scores */
		m->persist_on = true;
		return;
	}
	r = persist_load(m->cfg.state_dir, m->scores, m->scores_cap, &n, aside);
	if (r == -EBADMSG) {
		log_warning("The state file in %s was corrupt; it was set aside as %s; starting "
		            "with an empty leaderboard",
		            m->cfg.state_dir, aside[0] ? aside : "(unknown)");
		m->persist_on = true;
		return;
	}
	if (r < 0) {
		log_warning("Cannot read the state in %s: %s; continuing without persistence",
		            m->cfg.state_dir, strerror(-r));
		return;
	}
	m->persist_on = true;
	if (n == 0)
		return;
	r = world_scores_import(m->world, m->scores, n);
	if (r < 0)
		log_warning("Cannot load the saved scores: %s", strerror(-r));
	else
		log_info("Loaded %zu scores from %s", n, m->cfg.state_dir);
}

void master_persist_now(struct master *m)
{
	size_t n = 0;
	int r;

	if (!m->persist_on)
		return;
	r = world_scores_export(m->world, m->scores, m->scores_cap, &n);
	if (r < 0) {
		m->stats.saves_failed++;
		log_warning("Cannot read the scores to save them: %s", strerror(-r));
		return;
	}
	r = persist_save(m->cfg.state_dir, m->scores, n);
	if (r < 0) {
		m->stats.saves_failed++;
		log_warning("Failed to save the scores to %s: %s", m->cfg.state_dir, strerror(-r));
	} else {
		m->stats.saves_ok++;
		log_debug("saved %zu scores to %s", n, m->cfg.state_dir);
	}
}
