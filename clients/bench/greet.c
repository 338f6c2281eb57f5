/* greet.c: benchmark baseline "greet": an accept loop that answers HELLO with WELCOME.
 *
 * The floor for the handshake benchmark (arena-bots --handshake: connect, HELLO, WELCOME,
 * close). Accept, one read, one encoded reply: no session state beyond the socket.
 */
#include "base.h"

static void on_msg(struct bthread *t, struct bconn *c, const struct arena_msg *m)
{
	if (m->type == ARENA_HELLO && !c->welcomed)
		base_welcome(t, c, 20);
}

int main(int argc, char **argv)
{
	static const struct bapp app = {.name = "bench-greet", .on_msg = on_msg};
	return base_main(argc, argv, &app);
}
