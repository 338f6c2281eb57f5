/* test-proxy-protocol.c: PROXY protocol headers on a listener, as a load balancer (or a forger)
 * sends them.
 *
 * arenad listens on two ports: the first plain (the harness's readiness probe), the second with
 * proxy_protocol = v2 and proxy_trusted = 127.0.0.1, max_clients_per_ip = 2. The test plays the
 * load balancer with the server's own encoder (server/net/proxy.h):
 *   - v2 headers from 127.0.0.1 naming 10.1.1.1: two are welcomed, the third gets BYE(ip limit),
 *     one naming 10.1.1.2 is welcomed: the limit counts the real addresses;
 *   - a kick's log line names the real address; a LOCAL header keeps the connection's own;
 *   - refused and closed, each counted under its reason in arena_connections_rejected_total: a v1
 * header on the v2 listener, a bad signature, a header longer than 1024 bytes, garbage, a plain
 * HELLO, a header from 127.0.0.5 (not trusted), half a header that never ends (handshake_timeout),
 *     and a header sent one byte every 150 ms (the deadline does not move with each byte);
 *   - while 200 connections sit on unfinished headers, a new client is welcomed at once: the
 *     accept loop does not wait for anyone;
 *   - after a reload to `optional`: a plain client and a v1 client are both welcomed, and a
 *     header from an untrusted address is still refused.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "harness.h"
#include "prom.h"
#include "proxy.h"

#define NSLOW 200

static uint16_t mport;

static struct peer_addr addr4(const char *ip, uint16_t port)
{
	struct peer_addr p;

	memset(&p, 0, sizeof(p));
	p.family = AF_INET;
	p.port = port;
	inet_pton(AF_INET, ip, p.addr);
	return p;
}

static double refusals(const char *reason)
{
	struct prom_set set;
	char ctype[128], err[128], match[64];
	char *body = NULL;
	int status;
	double v = -1;

	if (prom_http(mport, "GET", "/metrics", 3000, &status, ctype, &body) < 0 || status != 200 ||
	    prom_parse(body, &set, err, sizeof(err)) < 0) {
		free(body);
		return -1;
	}
	snprintf(match, sizeof(match), "reason=\"%s\"", reason);
	v = PROM_SUM(&set, "arena_connections_rejected_total", match);
	prom_free(&set);
	free(body);
	return v;
}

/* Connect to the PROXY listener from src and send header bytes (may be none). */
static struct hc *with_header(struct hd *d, const char *src, const void *hdr, size_t len)
{
	struct hc *c = hc_connect_port(d->port2, src);

	if (c && len && hc_send_raw(c, hdr, len) < 0) {
		hc_close(c);
		return NULL;
	}
	return c;
}

static struct hc *as_client(struct hd *d, const char *real_ip, uint16_t real_port)
{
	uint8_t hdr[64];
	struct peer_addr src = addr4(real_ip, real_port), dst = addr4("127.0.0.1", d->port2);
	int n = proxy_encode_v2(&src, &dst, hdr, sizeof(hdr));

	return n > 0 ? with_header(d, "127.0.0.1", hdr, (size_t)n) : NULL;
}

/* The server closes c without a game frame (refused as not a proper PROXY stream). */
static bool closed_silently(struct hc *c, unsigned timeout_ms)
{
	struct arena_msg m;
	int r = c ? hc_recv(c, &m, timeout_ms) : -EINVAL;

	return r == HC_EOF || r == HC_RESET;
}

int main(void)
{
	struct hc *a, *b, *third, *other, *c, *slow[NSLOW];
	struct arena_msg m;
	uint8_t hdr[2048];
	double before, t;
	char kv[64];
	int n, r;

	h_init("proxy-protocol",
	       "PROXY v1/v2 headers give the real client address; bad ones are refused");
	REQUIRE(h_free_port(&mport) == 0, "a port for metrics");
	snprintf(kv, sizeof(kv), "metrics_listen=127.0.0.1:%u", mport);
	struct hd_opts o = {
	    .kv =
	        (const char *const[]){"workers=2", "max_clients_per_ip=2", "proxy_protocol=off v2",
	                              "proxy_trusted=127.0.0.1 10.200.0.0/16",
	                              "handshake_timeout=1s", kv, NULL},
	    .second_listener = true,
	};
	struct hd *d = hd_start_opts(&o);

	/* The real address is what max_clients_per_ip counts. */
	a = as_client(d, "10.1.1.1", 1111);
	b = as_client(d, "10.1.1.1", 1112);
	REQUIRE(a && b && hc_hello(a, "a", 3000) == 0 && hc_hello(b, "b", 3000) == 0,
	        "two clients whose v2 header names 10.1.1.1 are welcomed");
	third = as_client(d, "10.1.1.1", 1113);
	r = third ? hc_recv(third, &m, 3000) : -EIO;
	CHECK(r == 0 && m.type == ARENA_BYE && m.u.bye.reason == ARENA_BYE_IP_LIMIT,
	      "a third from 10.1.1.1 gets BYE(ip limit), though all came from 127.0.0.1");
	other = as_client(d, "10.1.1.2", 2222);
	CHECK(other && hc_hello(other, "other", 3000) == 0, "a client named 10.1.1.2 is welcomed");
	hc_close(third);

	/* Logs name the real address: a kick for a bad frame. */
	c = as_client(d, "10.77.7.7", 4242);
	REQUIRE(c && hc_hello(c, "kicked", 3000) == 0, "a client named 10.77.7.7:4242 is welcomed");
	hc_send_raw(c, "\x00\x01\x7f\x00", 4); /* an unknown type */
	CHECK(hc_wait_close(c, 3000) == 0, "a bad frame gets it kicked");
	hc_close(c);
	for (int i = 0; i < 50 && !hd_log_contains(d, "client 10.77.7.7:4242 kicked"); i++)
		h_sleep_ms(20);
	CHECK(hd_log_contains(d, "client 10.77.7.7:4242 kicked"),
	      "the kick log line names 10.77.7.7:4242");

	/* A LOCAL header (health check) keeps the connection's own address. */
	struct peer_addr none;
	memset(&none, 0, sizeof(none));
	n = proxy_encode_v2(&none, NULL, hdr, sizeof(hdr));
	c = n > 0 ? with_header(d, "127.0.0.1", hdr, (size_t)n) : NULL;
	CHECK(c && hc_hello(c, "local", 3000) == 0, "a LOCAL v2 header is served");
	hc_close(c);

	/* Bad headers: closed, counted. */
	before = refusals("proxy_bad");
	REQUIRE(before >= 0, "arena_connections_rejected_total{reason=\"proxy_bad\"} is exposed");
	struct peer_addr s1 = addr4("10.5.5.5", 5), d1 = addr4("127.0.0.1", 7);
	n = proxy_encode_v1(&s1, &d1, (char *)hdr, sizeof(hdr));
	c = n > 0 ? with_header(d, "127.0.0.1", hdr, (size_t)n) : NULL;
	CHECK(closed_silently(c, 3000), "a v1 header on the v2 listener is closed");
	hc_close(c);
	n = proxy_encode_v2(&s1, &d1, hdr, sizeof(hdr));
	hdr[5] ^= 0xff; /* signature */
	c = with_header(d, "127.0.0.1", hdr, (size_t)n);
	CHECK(closed_silently(c, 3000), "a bad v2 signature is closed");
	hc_close(c);
	n = proxy_encode_v2(&s1, &d1, hdr, sizeof(hdr));
	hdr[14] = 0x07, hdr[15] = 0xd0; /* declares 2000 bytes */
	memset(hdr + n, 0, sizeof(hdr) - (size_t)n);
	c = with_header(d, "127.0.0.1", hdr, sizeof(hdr));
	CHECK(closed_silently(c, 3000), "a v2 header declaring 2016 bytes is closed");
	hc_close(c);
	c = with_header(d, "127.0.0.1", "\r\n\r\n\0\r\nQUIT\n\x31\x11\x00\x0cgarbagegarbage", 30);
	CHECK(closed_silently(c, 3000), "a signature then garbage is closed");
	hc_close(c);
	c = with_header(d, "127.0.0.1", NULL, 0);
	CHECK(c && hc_hello(c, "plain", 3000) != 0 && c->closed,
	      "a plain HELLO on the v2 listener is closed");
	hc_close(c);
	t = refusals("proxy_bad");
	CHECK(t >= before + 5, "those 5 are counted as proxy_bad (%.0f -> %.0f)", before, t);

	/* Not from a trusted address: closed at once. */
	before = refusals("proxy_untrusted");
	n = proxy_encode_v2(&s1, &d1, hdr, sizeof(hdr));
	c = with_header(d, "127.0.0.5", hdr, (size_t)n);
	CHECK(closed_silently(c, 1000), "a header from 127.0.0.5 (not in proxy_trusted) is closed");
	hc_close(c);
	CHECK(refusals("proxy_untrusted") == before + 1, "and counted as proxy_untrusted");

	/* Slow: half a header, and one byte every 150 ms. */
	before = refusals("proxy_timeout");
	n = proxy_encode_v2(&s1, &d1, hdr, sizeof(hdr));
	c = with_header(d, "127.0.0.1", hdr, 10);
	uint64_t t0 = h_now_ms();
	CHECK(closed_silently(c, 3000), "half a header is closed");
	CHECK(h_now_ms() - t0 >= 800, "after handshake_timeout (%llu ms)",
	      (unsigned long long)(h_now_ms() - t0));
	hc_close(c);
	c = with_header(d, "127.0.0.1", NULL, 0);
	bool cut = false;
	t0 = h_now_ms();
	for (int i = 0; c && i < n && !cut; i++) {
		cut = hc_send_raw(c, hdr + i, 1) < 0;
		struct arena_msg skip;
		int rr = hc_recv(c, &skip, 150);
		cut |= rr == HC_EOF || rr == HC_RESET;
	}
	CHECK(cut && h_now_ms() - t0 < 2500,
	      "a header trickling in a byte every 150 ms is cut at the deadline (%llu ms)",
	      (unsigned long long)(h_now_ms() - t0));
	hc_close(c);
	CHECK(refusals("proxy_timeout") >= before + 2, "both counted as proxy_timeout");

	/* The accept loop never waits on a header. */
	size_t k = hc_connect_many_port(d->port2, "127.0.0.1", NSLOW, 0, 5000, slow);
	for (size_t i = 0; i < NSLOW; i++)
		if (slow[i])
			hc_send_raw(slow[i], hdr, 5);
	t0 = h_now_ms();
	c = as_client(d, "10.200.1.1", 1);
	CHECK(k == NSLOW && c && hc_hello(c, "prompt", 3000) == 0 && h_now_ms() - t0 < 500,
	      "with %zu headers unfinished, a new client is welcomed in %llu ms", k,
	      (unsigned long long)(h_now_ms() - t0));
	hc_close(c);
	CHECK(hc_wait_close_many(slow, NSLOW, 4000) == k, "and the %zu unfinished ones are closed",
	      k);
	hc_close_all(slow, NSLOW);

	/* optional: plain clients and v1 headers both served; untrusted headers refused. */
	REQUIRE(hd_write_config(d, (const char *const[]){"proxy_protocol=optional", NULL}, NULL) ==
	                0 &&
	            hd_reload(d, 5000) == 0,
	        "reloaded with proxy_protocol = optional");
	c = hc_connect_port(d->port2, "127.0.0.6");
	CHECK(c && hc_hello(c, "plain", 3000) == 0, "a plain client is welcomed");
	hc_close(c);
	s1 = addr4("10.9.9.9", 9);
	n = proxy_encode_v1(&s1, &d1, (char *)hdr, sizeof(hdr));
	c = with_header(d, "127.0.0.1", hdr, (size_t)n);
	CHECK(c && hc_hello(c, "v1", 3000) == 0, "a v1 client is welcomed");
	hc_close(c);
	c = with_header(d, "127.0.0.6", hdr, (size_t)n);
	CHECK(closed_silently(c, 3000), "a header from 127.0.0.6 is still refused");
	hc_close(c);

	CHECK(hc_ping(a, 2000) >= 0 && hc_ping(other, 2000) >= 0,
	      "the first clients were served throughout");
	hc_close(a);
	hc_close(b);
	hc_close(other);
	hd_stop(d, 10000);
	hd_log_clean(d);
	hd_free(d);
	return h_done();
}
