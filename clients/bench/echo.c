/* echo.c: benchmark baseline "echo": HELLO -> WELCOME, PING -> PONG, nothing else.
 *
 * The floor for the ping benchmark: arena-bots --ping drives it unchanged. Everything besides
 * the two replies (JOIN, MOVE, ...) is decoded and ignored.
 */
#include "base.h"

static void on_msg(struct bthread *t, struct bconn *c, const struct arena_msg *m)
{
	if (m->type == ARENA_HELLO && !c->welcomed) {
		base_welcome(t, c, 20);
	} else if (m->type == ARENA_PING) {
		t->tx.type = ARENA_PONG;
		t->tx.u.ping.stamp = m->u.ping.stamp;
		base_send_msg(t, c, &t->tx);
	}
}

int main(int argc, char **argv)
{
	static const struct bapp app = {.name = "bench-echo", .on_msg = on_msg};
	return base_main(argc, argv, &app);
}
