/* test-slow-reader.c: a client that never reads is cut at output_buffer; memory stays bounded.
 *
 * The client shrinks its receive buffer, says HELLO, then sends PINGs as fast as it can and
 * never reads, so the PONGs pile up in the daemon: first in the kernel's send buffer (which
 * grows to a few MiB), then in the session's output. With output_buffer=16m the session must be
 * cut: BYE(too slow) if it could still be written, else a plain close; the close itself is
 * required. The serving worker's RSS may not grow by 32 MiB or more on the way (under
 * AddressSanitizer the daemon runs without its quarantine, which holds freed input buffers back
 * on purpose). The large output_buffer makes the flood last long enough (half a second or more)
 * to show whether the worker stays fair: 4 honest clients pinging every 50 ms, one of them on
 * the deaf client's worker, must get every PONG within 500 ms.
 */
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"

#define FLOOD_MS   10000
#define RSS_MAX_KB (32 * 1024)
#define NPINGS     1000

int main(void)
{
	static uint8_t pings[NPINGS * (ARENA_HEADER_SIZE + 8)];
	pid_t w[4], owner = 0;
	long rss0 = 0, rss_max = 0;
	size_t plen = 0, off = 0;
	uint64_t sent = 0, t0, last_progress;
	bool server_closed = false;
	struct hp *hp;
	struct hd *d;
	struct hc *c;

	h_init("slow-reader", "a client that never reads is cut with BYE(too slow)");
	struct hd_opts o = {
	    .kv = (const char *const[]){"workers=4", "output_buffer=16m", NULL},
	    .extra_env = h_asan_env_for_rss(),
	};
	d = hd_start_opts(&o);
	REQUIRE(hd_workers(d, w, 4) == 4, "arenad runs 4 workers");
	hp = hp_start(d, 4, 50, NULL, "honest");

	c = hc_connect_opts(d, NULL, 4096);
	REQUIRE(c && hc_hello(c, "deaf", 2000) == 0, "the deaf client is welcomed");
	REQUIRE(hproc_map_clients(d->port, &c, 1, w, 4, &owner) == 1, "its worker is %d",
	        (int)owner);
	rss0 = rss_max = hproc_rss_kb(owner);

	for (size_t i = 0; i < NPINGS; i++) {
		struct arena_msg m = {.type = ARENA_PING};
		ssize_t len;

		m.u.ping.stamp = i;
		len = arena_encode(&m, pings + plen, sizeof(pings) - plen);
		if (len <= 0)
			h_bail("cannot encode PING %zu", i);
		plen += (size_t)len;
	}

	/* Flood without reading until the server closes or stops taking our bytes for 3 s. */
	t0 = last_progress = h_now_ms();
	while (h_now_ms() < t0 + FLOOD_MS && h_now_ms() < last_progress + 3000) {
		ssize_t n = send(c->fd, pings + off, plen - off, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n > 0) {
			sent += (uint64_t)n;
			off = (off + (size_t)n) % plen;
			last_progress = h_now_ms();
		} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			server_closed = true; /* EPIPE / ECONNRESET: the server is gone */
			break;
		}
		struct pollfd pfd = {.fd = c->fd, .events = POLLOUT | POLLRDHUP};
		if (poll(&pfd, 1, 100) > 0 && (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR))) {
			server_closed = true;
			break;
		}
		long rss = hproc_rss_kb(owner);
		if (rss > rss_max)
			rss_max = rss;
	}
	h_diag("sent %llu bytes of PINGs in %llu ms; %s", (unsigned long long)sent,
	       (unsigned long long)(h_now_ms() - t0),
	       server_closed ? "the server closed" : "the server stopped reading or never closed");

	/* Now read: what was delivered, then BYE(too slow) if it fit, then EOF or RST. */
	int rc = hc_wait_close(c, 5000);
	CHECK(rc == 0, "the deaf client was disconnected (%s)",
	      rc == 0            ? "closed"
	      : rc == -ETIMEDOUT ? "still open"
	                         : strerror(-rc));
	CHECK(!c->got_bye || c->bye_reason == ARENA_BYE_TOO_SLOW,
	      "if a BYE came, it says too slow (%s)",
	      c->got_bye ? arena_bye_name(c->bye_reason) : "no BYE, plain close");
	CHECK(rss_max - rss0 < RSS_MAX_KB, "the worker's RSS grew by %ld kB at most (bound %d kB)",
	      rss_max - rss0, RSS_MAX_KB);
	hc_close(c);

	h_sleep_ms((unsigned)h_remaining(t0 + 1000)); /* the neighbours' watch lasts 1 s at least */
	hp_stop(hp);
	if (!hp_check(hp, 500, "during the deaf client's flood")) {
		for (size_t i = 0; i < hp_count(hp); i++) {
			struct hc *hc = hp_client(hp, i);
			pid_t hw = 0;

			hproc_map_clients(d->port, &hc, 1, w, 4, &hw);
			h_diag("honest client %zu: worst PONG %llu ms, worker %d%s", i,
			       (unsigned long long)hp_get(hp, i).max_latency_ms, (int)hw,
			       hw == owner ? " (the deaf client's worker)" : "");
		}
	}
	CHECK(hd_workers_unchanged(d, w, 4), "no worker crashed or was replaced");
	hp_free(hp);
	return h_done();
}
