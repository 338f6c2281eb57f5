/* prom.h: a strict reader of the Prometheus text exposition format 0.0.4, and an HTTP scrape,
 * for the black-box tests of arenad's metrics endpoint.
 *
 * Strict means what a scraper would accept plus the naming rules arena promises: every line
 * ends in '\n'; "# HELP" and "# TYPE" at most once per family and TYPE before the family's
 * first sample; a family's samples in one block; metric and label names valid; label values
 * quoted with only \\, \" and \n escapes; no label given twice, no series given twice; values
 * that parse as floats; counters named *_total and never negative; histograms with le on every
 * _bucket, non-decreasing buckets ending in le="+Inf" equal to _count, and a _sum; every name
 * starting with arena_.
 */
#ifndef ARENA_PROM_H
#define ARENA_PROM_H

#include <stddef.h>
#include <stdint.h>

struct prom_sample {
	char name[128];
	char labels[256]; /* as written between the braces, e.g. worker="0",type="HELLO" */
	double value;
};

struct prom_set {
	struct prom_sample *s;
	size_t n, cap;
	unsigned families;
};

/* Parse text. 0 and *ret (free with prom_free), or -EINVAL with a "line N: why" in err. */
int prom_parse(const char *text, struct prom_set *ret, char *err, size_t errlen);
void prom_free(struct prom_set *set);

/* Sum of the samples named `name` whose labels contain every one of the NULL-terminated
 * matchers (each a substring like `type="HELLO"`). -1 if no sample matches. */
double prom_sum(const struct prom_set *set, const char *name, const char *const *match);
#define PROM_SUM(set, name, ...) prom_sum((set), (name), (const char *const[]){__VA_ARGS__, NULL})

/* GET path from 127.0.0.1:port over HTTP/1.0 (timeout_ms in all). 0 with the HTTP status,
 * the Content-Type header (in ctype, "" if none) and the body (malloc'ed, NUL-terminated) in
 * *ret_body; or a negative errno. method is "GET", "POST"... */
int prom_http(uint16_t port, const char *method, const char *path, unsigned timeout_ms,
              int *ret_status, char ctype[128], char **ret_body);

#endif
