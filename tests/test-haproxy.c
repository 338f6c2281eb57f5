/* test-haproxy.c: two arenad nodes behind a real haproxy (send-proxy-v2), on loopback.
 *
 * Each node listens plain on its first port and with proxy_protocol = v2 on the second, trusts
 * 127.0.0.1 (haproxy's side) and allows 2 connections per address. haproxy balances round robin
 * with TCP health checks. Clients connect to haproxy from 127.0.0.2 and 127.0.0.3:
 *   - four from 127.0.0.2 are welcomed (two per node), the fifth gets BYE(ip limit) from its node
 *     although every connection to the nodes comes from 127.0.0.1: the nodes see the real address;
 *   - two from 127.0.0.3 are welcomed at the same time;
 *   - a node's kick log names the client's real address;
 *   - haproxy's TCP health checks (a connect and a close, no header) run all along;
 *   - a v1 backend (send-proxy) on the same nodes is refused (they expect v2).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "harness.h"

#define N2 5

static struct hd *node(void)
{
	struct hd_opts o = {
	    .kv = (const char *const[]){"workers=2", "max_clients_per_ip=2",
	                                "proxy_protocol=off v2", "proxy_trusted=127.0.0.1", NULL},
	    .second_listener = true,
	};

	return hd_start_opts(&o);
}

int main(void)
{
	struct hc *two[N2], *three[2], *c;
	uint16_t port, port_v1;
	char cfg[2048], path[256];
	size_t welcomed = 0, limited = 0;
	FILE *f;

	h_init("haproxy", "arenad nodes behind haproxy send-proxy-v2 see the clients' addresses");
	hx_require("haproxy", "haproxy");
	struct hd *a = node(), *b = node();
	REQUIRE(h_free_port(&port) == 0 && h_free_port(&port_v1) == 0 && port != port_v1,
	        "ports for haproxy");

	struct hx *x = hx_new("haproxy");
	snprintf(cfg, sizeof(cfg),
	         "global\n  maxconn 4000\n"
	         "defaults\n  mode tcp\n  timeout connect 2s\n  timeout client 60s\n"
	         "  timeout server 60s\n"
	         "frontend game\n  bind 127.0.0.1:%u\n  default_backend nodes\n"
	         "backend nodes\n  balance roundrobin\n"
	         "  server a 127.0.0.1:%u send-proxy-v2 check inter 300ms\n"
	         "  server b 127.0.0.1:%u send-proxy-v2 check inter 300ms\n"
	         "frontend old\n  bind 127.0.0.1:%u\n  default_backend nodes_v1\n"
	         "backend nodes_v1\n  server a 127.0.0.1:%u send-proxy\n",
	         port, a->port2, b->port2, port_v1, a->port2);
	snprintf(path, sizeof(path), "%s/haproxy.cfg", hx_dir(x));
	f = fopen(path, "we");
	REQUIRE(f && fputs(cfg, f) >= 0 && fclose(f) == 0, "haproxy.cfg written");
	hx_run(x, port, (const char *const[]){"haproxy", "-db", "-f", path, NULL});
	h_sleep_ms(700); /* a couple of health checks */

	for (size_t i = 0; i < N2; i++) {
		int r;

		two[i] = hc_connect_port(port, "127.0.0.2");
		r = two[i] ? hc_hello(two[i], "two", 3000) : -EIO;
		if (r == 0)
			welcomed++;
		else if (two[i] && two[i]->got_bye && two[i]->bye_reason == ARENA_BYE_IP_LIMIT)
			limited++;
	}
	CHECK(welcomed == 4 && limited == 1,
	      "from 127.0.0.2: 4 welcomed (2 per node), the 5th refused for its address (%zu, %zu)",
	      welcomed, limited);
	for (size_t i = 0; i < 2; i++)
		three[i] = hc_connect_port(port, "127.0.0.3");
	CHECK(three[0] && three[1] && hc_hello(three[0], "three", 3000) == 0 &&
	          hc_hello(three[1], "three", 3000) == 0,
	      "2 from 127.0.0.3 are welcomed meanwhile");

	/* The kick log names the real address. */
	c = hc_connect_port(port, "127.0.0.4");
	REQUIRE(c && hc_hello(c, "kicked", 3000) == 0, "a client from 127.0.0.4 is welcomed");
	hc_send_raw(c, "\x00\x01\x7f\x00", 4);
	CHECK(hc_wait_close(c, 3000) == 0, "a bad frame gets it kicked");
	hc_close(c);
	bool logged = false;
	for (int i = 0; i < 50 && !logged; i++) {
		logged = hd_log_contains(a, "client 127.0.0.4:") ||
		         hd_log_contains(b, "client 127.0.0.4:");
		if (!logged)
			h_sleep_ms(20);
	}
	CHECK(logged, "its node's kick log line names 127.0.0.4");

	/* A v1 header on the v2 listener: closed. */
	c = hc_connect_port(port_v1, "127.0.0.5");
	CHECK(c && hc_hello(c, "old", 3000) != 0 && !c->welcomed,
	      "a client through a send-proxy (v1) backend is not served by a v2 listener");
	hc_close(c);

	CHECK(hc_ping(two[0] && two[0]->welcomed ? two[0] : three[0], 2000) >= 0,
	      "the others are still served");
	hc_close_all(two, N2);
	hc_close_all(three, 2);
	hx_free(x);
	hd_stop(a, 10000);
	hd_stop(b, 10000);
	hd_log_clean(a);
	hd_log_clean(b);
	hd_free(a);
	hd_free(b);
	return h_done();
}
