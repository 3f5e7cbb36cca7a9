/* SPDX-License-Identifier: MIT */
/* An event loop program as node is one: libuv's default loop, a stream on
 * it (which makes libuv open its reserve /dev/null), run to the end and
 * never closed, as programs do. Then a loop of its own, never closed: its
 * epoll fd, eventfd and signal pipe are real leaks.
 * Usage: libuv_loop [own] */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

static uv_loop_t own_loop;

int main(int argc, char **argv)
{
	uv_loop_t *loop = uv_default_loop();
	uv_pipe_t pipe_handle;

	uv_pipe_init(loop, &pipe_handle, 0);
	uv_close((uv_handle_t *)&pipe_handle, NULL);
	if (argc > 1 && !strcmp(argv[1], "own"))
		uv_loop_init(&own_loop); /* loop-site: own */
	return uv_run(loop, UV_RUN_DEFAULT);
}
