/* test-peer.c: unit tests for client address keys and the per-address connection table.
 *
 * The table is what enforces max_clients_per_ip and max_clients in the master, and what gives
 * a dead worker's connections back, so the tests check exact counts through adds, removes,
 * slot releases, table growth, unknown removals, and the grouping of IPv6 clients by /64.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "peer.h"

static struct peer_addr v4(const char *ip, uint16_t port)
{
	struct sockaddr_in sa;
	struct peer_addr p;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &sa.sin_addr), 1);
	peer_from_sockaddr((struct sockaddr *)&sa, sizeof(sa), &p);
	return p;
}

static struct peer_addr v6(const char *ip, uint16_t port)
{
	struct sockaddr_in6 sa;
	struct peer_addr p;

	memset(&sa, 0, sizeof(sa));
	sa.sin6_family = AF_INET6;
	sa.sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &sa.sin6_addr), 1);
	peer_from_sockaddr((struct sockaddr *)&sa, sizeof(sa), &p);
	return p;
}

static void test_format(void **state)
{
	char buf[PEER_TEXT_MAX];
	struct peer_addr p;

	p = v4("127.0.0.2", 5555);
	assert_string_equal(peer_format(&p, buf), "127.0.0.2:5555");
	p = v6("::1", 7777);
	assert_string_equal(peer_format(&p, buf), "[::1]:7777");
	/* An IPv4-mapped IPv6 address is the IPv4 client it stands for. */
	p = v6("::ffff:10.1.2.3", 80);
	assert_int_equal(p.family, AF_INET);
	assert_string_equal(peer_format(&p, buf), "10.1.2.3:80");
	/* Anything else is "local" and shares one key. */
	peer_from_sockaddr(NULL, 0, &p);
	assert_int_equal(p.family, 0);
	assert_string_equal(peer_format(&p, buf), "local");
}

static void test_counts(void **state)
{
	struct peer_table *t = NULL;
	struct peer_addr a1 = v4("127.0.0.2", 1000), a2 = v4("127.0.0.2", 2000);
	struct peer_addr b = v4("127.0.0.3", 1000), m = v6("::ffff:127.0.0.2", 3000);

	assert_int_equal(peer_table_new(&t), 0);
	assert_int_equal(peer_table_count(t, &a1), 0);

	/* Ports do not matter, mapped addresses fold, other addresses are separate. */
	assert_int_equal(peer_table_add(t, &a1, 0), 0);
	assert_int_equal(peer_table_add(t, &a2, 1), 0);
	assert_int_equal(peer_table_add(t, &m, 1), 0);
	assert_int_equal(peer_table_add(t, &b, 0), 0);
	assert_int_equal(peer_table_count(t, &a1), 3);
	assert_int_equal(peer_table_count(t, &b), 1);
	assert_int_equal(peer_table_total(t), 4);

	/* Removing needs the slot that holds it. */
	assert_int_equal(peer_table_remove(t, &a1, 2), -ENOENT);
	assert_int_equal(peer_table_count(t, &a1), 3);
	assert_int_equal(peer_table_remove(t, &a1, 1), 0);
	assert_int_equal(peer_table_count(t, &a1), 2);
	assert_int_equal(peer_table_total(t), 3);

	/* Slot 1 dies: its last connection from .2 goes; slot 0's stay. */
	assert_int_equal(peer_table_release_slot(t, 1), 1);
	assert_int_equal(peer_table_count(t, &a1), 1);
	assert_int_equal(peer_table_count(t, &b), 1);
	assert_int_equal(peer_table_total(t), 2);
	assert_int_equal(peer_table_release_slot(t, 1), 0);

	assert_int_equal(peer_table_remove(t, &a2, 0), 0);
	assert_int_equal(peer_table_remove(t, &b, 0), 0);
	assert_int_equal(peer_table_total(t), 0);
	assert_int_equal(peer_table_count(t, &a1), 0);
	assert_int_equal(peer_table_remove(t, &b, 0), -ENOENT);
	assert_int_equal(peer_table_add(t, &b, PEER_SLOT_ALL), -EINVAL);
	peer_table_free(t);
}

/* IPv6 clients count per /64: any interface id of one prefix is the same client, the next
 * prefix is another; an IPv4-mapped address counts as its IPv4 address, not as an IPv6 /64. */
static void test_ipv6_prefix(void **state)
{
	struct peer_table *t = NULL;
	struct peer_addr a = v6("2001:db8:1:2::1", 1000);
	struct peer_addr b = v6("2001:db8:1:2:ffff:ffff:ffff:ffff", 1001);
	struct peer_addr c = v6("2001:db8:1:2:dead:beef:0:7", 1002);
	struct peer_addr other = v6("2001:db8:1:3::1", 1000);
	struct peer_addr mapped = v6("::ffff:10.0.0.1", 1000), plain = v4("10.0.0.1", 2000);
	struct peer_addr near4 = v4("10.0.0.2", 1000);
	char buf[PEER_TEXT_MAX];

	assert_int_equal(peer_table_new(&t), 0);
	assert_int_equal(peer_table_add(t, &a, 0), 0);
	assert_int_equal(peer_table_add(t, &b, 1), 0);
	assert_int_equal(peer_table_add(t, &c, 1), 0);
	assert_int_equal(peer_table_count(t, &a), 3);
	assert_int_equal(peer_table_count(t, &b), 3);
	assert_int_equal(peer_table_count(t, &other), 0);
	assert_int_equal(peer_table_add(t, &other, 0), 0);
	assert_int_equal(peer_table_count(t, &other), 1);
	assert_int_equal(peer_table_count(t, &c), 3);

	/* Logs still show the full address. */
	assert_string_equal(peer_format(&c, buf), "[2001:db8:1:2:dead:beef:0:7]:1002");

	/* IPv4 (mapped or not) keeps whole addresses. */
	assert_int_equal(peer_table_add(t, &mapped, 0), 0);
	assert_int_equal(peer_table_add(t, &plain, 1), 0);
	assert_int_equal(peer_table_count(t, &plain), 2);
	assert_int_equal(peer_table_count(t, &near4), 0);

	/* A connection may be removed by another address of its /64; slot release settles the
	 * prefix's total. */
	assert_int_equal(peer_table_remove(t, &b, 0), 0); /* added as a, same /64, same slot */
	assert_int_equal(peer_table_count(t, &a), 2);
	assert_int_equal(peer_table_release_slot(t, 1), 3); /* b, c and plain */
	assert_int_equal(peer_table_count(t, &c), 0);
	assert_int_equal(peer_table_count(t, &mapped), 1);
	assert_int_equal(peer_table_count(t, &other), 1);
	assert_int_equal(peer_table_total(t), 2);
	peer_table_free(t);
}

/* Many addresses over many slots: growth keeps every count; releasing every slot empties it. */
static void test_many(void **state)
{
	struct peer_table *t = NULL;
	enum { N = 5000, SLOTS = 7 };

	assert_int_equal(peer_table_new(&t), 0);
	for (unsigned i = 0; i < N; i++) {
		struct peer_addr p;
		char ip[32];

		snprintf(ip, sizeof(ip), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		p = v4(ip, 1);
		/* Address i gets (i % 3) + 1 connections, spread over slots. */
		for (unsigned k = 0; k <= i % 3; k++)
			assert_int_equal(peer_table_add(t, &p, (i + k) % SLOTS), 0);
	}
	for (unsigned i = 0; i < N; i++) {
		struct peer_addr p;
		char ip[32];

		snprintf(ip, sizeof(ip), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		p = v4(ip, 2);
		assert_int_equal(peer_table_count(t, &p), i % 3 + 1);
	}
	unsigned total = peer_table_total(t), released = 0;

	assert_int_equal(total, N / 3 * 6 + (N % 3 >= 1 ? 1 : 0) + (N % 3 >= 2 ? 2 : 0));
	for (unsigned s = 0; s < SLOTS; s++)
		released += peer_table_release_slot(t, s);
	assert_int_equal(released, total);
	assert_int_equal(peer_table_total(t), 0);
	for (unsigned i = 0; i < N; i += 97) {
		struct peer_addr p;
		char ip[32];

		snprintf(ip, sizeof(ip), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255, i & 255);
		p = v4(ip, 2);
		assert_int_equal(peer_table_count(t, &p), 0);
	}
	peer_table_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format),
	    cmocka_unit_test(test_counts),
	    cmocka_unit_test(test_ipv6_prefix),
	    cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
