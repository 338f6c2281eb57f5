/* prom.c: the strict Prometheus text-format reader and the HTTP scrape (see prom.h).
 *
 * One pass over the lines keeps the families seen (name, type, whether HELP/TYPE came, whether
 * its block is over) and the samples; the histogram rules are checked at the end, per series
 * (the labels without le), over the samples in the order they came.
 */
#include "prom.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "harness.h"

#define FAMILIES_MAX 256

struct family {
	char name[128];
	char type[16];
	bool help, typed, closed;
};

struct parser {
	struct family fam[FAMILIES_MAX];
	unsigned nfam;
	int current; /* family whose block is open, -1 none */
	unsigned line;
	char *err;
	size_t errlen;
};

static int fail(struct parser *p, const char *fmt, ...) H_PRINTF(2, 3);
static int fail(struct parser *p, const char *fmt, ...)
{
	va_list ap;
	int k = snprintf(p->err, p->errlen, "line %u: ", p->line);

	va_start(ap, fmt);
	if (k > 0 && (size_t)k < p->errlen)
		vsnprintf(p->err + k, p->errlen - (size_t)k, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static bool name_char(char c, bool first, bool colon)
{
	return isalpha((unsigned char)c) || c == '_' || (colon && c == ':') ||
	       (!first && isdigit((unsigned char)c));
}

/* Length of a valid name at s (0 if none). */
static size_t name_len(const char *s, bool colon)
{
	size_t n = 0;

	while (name_char(s[n], n == 0, colon))
		n++;
	return n;
}

static struct family *family_find(struct parser *p, const char *name, size_t len)
{
	for (unsigned i = 0; i < p->nfam; i++)
		if (strlen(p->fam[i].name) == len && memcmp(p->fam[i].name, name, len) == 0)
			return &p->fam[i];
	return NULL;
}

static struct family *family_get(struct parser *p, const char *name, size_t len)
{
	struct family *f = family_find(p, name, len);

	if (f || p->nfam == FAMILIES_MAX || len >= sizeof(f->name))
		return f;
	f = &p->fam[p->nfam++];
	memset(f, 0, sizeof(*f));
	memcpy(f->name, name, len);
	return f;
}

/* Enter family f's block (a comment or sample of it): blocks may not be reopened. */
static int enter(struct parser *p, struct family *f)
{
	int idx = (int)(f - p->fam);

	if (p->current == idx)
		return 0;
	if (f->closed)
		return fail(p, "family %s appears again after other families", f->name);
	if (p->current >= 0)
		p->fam[p->current].closed = true;
	p->current = idx;
	return 0;
}

static int comment(struct parser *p, const char *s)
{
	bool help = strncmp(s, "# HELP ", 7) == 0, type = strncmp(s, "# TYPE ", 7) == 0;
	const char *name = s + 7;
	size_t len;
	struct family *f;

	if (!help && !type)
		return 0; /* a plain comment */
	len = name_len(name, true);
	if (len == 0 || (name[len] != ' ' && name[len] != '\0'))
		return fail(p, "bad metric name after # %s", help ? "HELP" : "TYPE");
	if (!(f = family_get(p, name, len)))
		return fail(p, "too many families");
	if (enter(p, f) < 0)
		return -EINVAL;
	if (help) {
		if (f->help)
			return fail(p, "second HELP for %s", f->name);
		f->help = true;
		return 0;
	}
	if (f->typed)
		return fail(p, "second TYPE for %s", f->name);
	const char *t = name[len] == ' ' ? name + len + 1 : "";
	if (strcmp(t, "counter") && strcmp(t, "gauge") && strcmp(t, "histogram") &&
	    strcmp(t, "summary") && strcmp(t, "untyped"))
		return fail(p, "unknown TYPE '%s' for %s", t, f->name);
	memcpy(f->type, t, strlen(t) + 1); /* one of the five names above: it fits */
	f->typed = true;
	if (!strcmp(t, "counter") && (len < 6 || strcmp(f->name + len - 6, "_total") != 0))
		return fail(p, "counter %s is not named *_total", f->name);
	return 0;
}

/* Parse {a="x",b="y"} at *sp into out (as written). Rejects a label given twice. */
static int labels(struct parser *p, const char **sp, char *out, size_t outlen)
{
	const char *s = *sp + 1;
	char seen[16][64];
	unsigned nseen = 0;
	size_t o = 0;

	while (*s != '}') {
		size_t len = name_len(s, false);

		if (len == 0 || len >= 64 || s[len] != '=' || s[len + 1] != '"')
			return fail(p, "bad label at '%.20s'", s);
		for (unsigned i = 0; i < nseen; i++)
			if (strlen(seen[i]) == len && memcmp(seen[i], s, len) == 0)
				return fail(p, "label %.*s given twice", (int)len, s);
		if (nseen < 16) {
			memcpy(seen[nseen], s, len);
			seen[nseen++][len] = '\0';
		}
		const char *v = s + len + 2;
		while (*v != '"') {
			if (*v == '\0' || *v == '\n')
				return fail(p, "unterminated label value");
			if (*v == '\\') {
				if (v[1] != '\\' && v[1] != '"' && v[1] != 'n')
					return fail(p, "bad escape \\%c in a label value", v[1]);
				v++;
			}
			v++;
		}
		v++;
		if (o + (size_t)(v - s) + 2 > outlen)
			return fail(p, "labels too long");
		if (o)
			out[o++] = ',';
		memcpy(out + o, s, (size_t)(v - s));
		o += (size_t)(v - s);
		s = v;
		if (*s == ',')
			s++;
		else if (*s != '}')
			return fail(p, "expected ',' or '}' after a label value");
	}
	out[o] = '\0';
	*sp = s + 1;
	return 0;
}

static int parse_value(const char *s, double *ret)
{
	char *end;

	if (!strcmp(s, "+Inf")) {
		*ret = INFINITY;
		return 0;
	}
	if (!strcmp(s, "-Inf")) {
		*ret = -INFINITY;
		return 0;
	}
	if (!strcmp(s, "NaN")) {
		*ret = NAN;
		return 0;
	}
	if (!*s || isspace((unsigned char)*s))
		return -EINVAL;
	*ret = strtod(s, &end);
	if (*end == ' ') { /* a timestamp: an integer */
		char *e2;
		(void)strtoll(end + 1, &e2, 10);
		if (e2 == end + 1 || *e2)
			return -EINVAL;
		return 0;
	}
	return *end ? -EINVAL : 0;
}

/* The family a sample named name belongs to: itself, or a histogram it is a part of. */
static struct family *sample_family(struct parser *p, const char *name, const char **ret_part)
{
	static const char *const parts[] = {"_bucket", "_sum", "_count"};
	size_t len = strlen(name);
	struct family *f;

	*ret_part = "";
	for (size_t i = 0; i < 3; i++) {
		size_t k = strlen(parts[i]);

		if (len > k && !strcmp(name + len - k, parts[i]) &&
		    (f = family_find(p, name, len - k)) && !strcmp(f->type, "histogram")) {
			*ret_part = parts[i];
			return f;
		}
	}
	return family_find(p, name, len);
}

static int sample(struct parser *p, struct prom_set *set, const char *s)
{
	size_t len = name_len(s, true);
	struct prom_sample smp;
	struct family *f;
	const char *part;

	memset(&smp, 0, sizeof(smp));
	if (len == 0 || len >= sizeof(smp.name))
		return fail(p, "bad metric name at '%.20s'", s);
	memcpy(smp.name, s, len);
	if (strncmp(smp.name, "arena_", 6) != 0)
		return fail(p, "metric %s is not named arena_*", smp.name);
	s += len;
	if (*s == '{' && labels(p, &s, smp.labels, sizeof(smp.labels)) < 0)
		return -EINVAL;
	if (*s != ' ')
		return fail(p, "expected a blank before the value of %s", smp.name);
	if (parse_value(s + 1, &smp.value) < 0)
		return fail(p, "bad value '%s' for %s", s + 1, smp.name);
	f = sample_family(p, smp.name, &part);
	if (!f || !f->typed)
		return fail(p, "sample %s before its # TYPE", smp.name);
	if (enter(p, f) < 0)
		return -EINVAL;
	if (!strcmp(f->type, "counter") && !(smp.value >= 0))
		return fail(p, "counter %s is %g", smp.name, smp.value);
	if (!strcmp(part, "_bucket") && !strstr(smp.labels, "le=\""))
		return fail(p, "%s without le", smp.name);
	for (size_t i = 0; i < set->n; i++)
		if (!strcmp(set->s[i].name, smp.name) && !strcmp(set->s[i].labels, smp.labels))
			return fail(p, "series %s{%s} given twice", smp.name, smp.labels);
	if (set->n == set->cap) {
		size_t cap = set->cap ? set->cap * 2 : 256;
		struct prom_sample *n = realloc(set->s, cap * sizeof(*n));

		if (!n)
			return fail(p, "out of memory");
		set->s = n;
		set->cap = cap;
	}
	set->s[set->n++] = smp;
	return 0;
}

/* labels without the le pair, for grouping a histogram's buckets. */
static void strip_le(const char *labels, char *out, size_t outlen, double *ret_le)
{
	const char *le = strstr(labels, "le=\"");
	size_t o = 0;

	*ret_le = NAN;
	for (const char *s = labels; *s && o + 1 < outlen;) {
		if (s == le) {
			const char *e = strchr(le + 4, '"');
			char v[32];
			size_t n = e ? (size_t)(e - le - 4) : 0;

			if (n < sizeof(v)) {
				memcpy(v, le + 4, n);
				v[n] = '\0';
				parse_value(v, ret_le);
			}
			s = e ? e + 1 : s + strlen(s);
			if (*s == ',')
				s++;
			continue;
		}
		out[o++] = *s++;
	}
	while (o && out[o - 1] == ',')
		o--;
	out[o] = '\0';
}

static int check_histograms(struct parser *p, const struct prom_set *set)
{
	p->line = 0;
	for (unsigned fi = 0; fi < p->nfam; fi++) {
		const struct family *f = &p->fam[fi];
		char bucket[140], sum[140], count[140];

		if (strcmp(f->type, "histogram"))
			continue;
		snprintf(bucket, sizeof(bucket), "%s_bucket", f->name);
		snprintf(sum, sizeof(sum), "%s_sum", f->name);
		snprintf(count, sizeof(count), "%s_count", f->name);
		for (size_t i = 0; i < set->n; i++) {
			char key[256], k2[256];
			double le, prev_le = -INFINITY, prev = 0, last = NAN;
			bool first = true, has_sum = false, has_count = false;
			double cnt = NAN;

			if (strcmp(set->s[i].name, bucket))
				continue;
			strip_le(set->s[i].labels, key, sizeof(key), &le);
			/* only the first bucket of each series starts the check */
			bool seen_before = false;
			for (size_t j = 0; j < i && !seen_before; j++) {
				if (strcmp(set->s[j].name, bucket))
					continue;
				strip_le(set->s[j].labels, k2, sizeof(k2), &le);
				seen_before = !strcmp(k2, key);
			}
			if (seen_before)
				continue;
			for (size_t j = i; j < set->n; j++) {
				const struct prom_sample *s = &set->s[j];

				if (!strcmp(s->name, bucket)) {
					strip_le(s->labels, k2, sizeof(k2), &le);
					if (strcmp(k2, key))
						continue;
					if (isnan(le) || (!first && !(le > prev_le)))
						return fail(p, "%s{%s}: le not increasing", bucket,
						            key);
					if (!first && s->value < prev)
						return fail(p, "%s{%s}: buckets decrease", bucket,
						            key);
					first = false;
					prev_le = le;
					prev = s->value;
					last = s->value;
				} else if (!strcmp(s->labels, key) && !strcmp(s->name, sum)) {
					has_sum = true;
				} else if (!strcmp(s->labels, key) && !strcmp(s->name, count)) {
					has_count = true;
					cnt = s->value;
				}
			}
			if (!isinf(prev_le))
				return fail(p, "%s{%s}: no le=\"+Inf\" bucket", bucket, key);
			if (!has_sum || !has_count)
				return fail(p, "%s{%s}: _sum or _count missing", f->name, key);
			if (cnt != last)
				return fail(p, "%s{%s}: +Inf bucket %g != _count %g", f->name, key,
				            last, cnt);
		}
	}
	return 0;
}

void prom_free(struct prom_set *set)
{
	free(set->s);
	memset(set, 0, sizeof(*set));
}

int prom_parse(const char *text, struct prom_set *ret, char *err, size_t errlen)
{
	struct parser *p = calloc(1, sizeof(*p));
	struct prom_set set = {0};
	char *line = NULL;
	int r = 0;

	if (!p)
		return -ENOMEM;
	p->current = -1;
	p->err = err;
	p->errlen = errlen;
	err[0] = '\0';
	for (const char *s = text; *s && r == 0;) {
		const char *nl = strchr(s, '\n');
		size_t len;

		p->line++;
		if (!nl) {
			r = fail(p, "the last line does not end in a newline");
			break;
		}
		len = (size_t)(nl - s);
		free(line);
		line = strndup(s, len);
		if (!line) {
			r = -ENOMEM;
			break;
		}
		if (len == 0)
			; /* blank lines are allowed */
		else if (line[0] == '#')
			r = comment(p, line);
		else
			r = sample(p, &set, line);
		s = nl + 1;
	}
	free(line);
	if (r == 0)
		r = check_histograms(p, &set);
	set.families = p->nfam;
	free(p);
	if (r < 0) {
		prom_free(&set);
		return r;
	}
	*ret = set;
	return 0;
}

double prom_sum(const struct prom_set *set, const char *name, const char *const *match)
{
	double sum = 0;
	bool any = false;

	for (size_t i = 0; i < set->n; i++) {
		bool ok = !strcmp(set->s[i].name, name);

		for (size_t k = 0; ok && match && match[k]; k++)
			ok = strstr(set->s[i].labels, match[k]) != NULL;
		if (ok) {
			sum += set->s[i].value;
			any = true;
		}
	}
	return any ? sum : -1;
}

int prom_http(uint16_t port, const char *method, const char *path, unsigned timeout_ms,
              int *ret_status, char ctype[128], char **ret_body)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	uint64_t deadline = h_now_ms() + timeout_ms;
	char req[256], *buf = NULL, *hdr_end, *ct;
	size_t len = 0, cap = 0;
	int fd, n, status;

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		int e = -errno;
		close(fd);
		return e;
	}
	n = snprintf(req, sizeof(req), "%s %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", method, path);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n) {
		close(fd);
		return -EIO;
	}
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t k;

		if (len + 4096 + 1 > cap) {
			char *nb = realloc(buf, cap = cap ? cap * 2 : 65536);
			if (!nb) {
				free(buf);
				close(fd);
				return -ENOMEM;
			}
			buf = nb;
		}
		if (poll(&pfd, 1, h_remaining(deadline)) <= 0) {
			free(buf);
			close(fd);
			return -ETIMEDOUT;
		}
		k = recv(fd, buf + len, cap - len - 1, 0);
		if (k < 0) {
			free(buf);
			close(fd);
			return -errno;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	buf[len] = '\0';
	hdr_end = strstr(buf, "\r\n\r\n");
	if (!hdr_end || sscanf(buf, "HTTP/1.%*d %d", &status) != 1) {
		free(buf);
		return -EPROTO;
	}
	*hdr_end = '\0';
	ctype[0] = '\0';
	ct = strcasestr(buf, "\r\nContent-Type: ");
	if (ct) {
		char *e = strstr(ct + 2, "\r\n");
		size_t cl = e ? (size_t)(e - ct - 16) : strlen(ct + 16);

		snprintf(ctype, 128, "%.*s", (int)cl, ct + 16);
	}
	memmove(buf, hdr_end + 4, len - (size_t)(hdr_end + 4 - buf) + 1);
	*ret_status = status;
	*ret_body = buf;
	return 0;
}
