/* names.c: stable printable names for message types, error codes, BYE reasons and decoder errors.
 *
 * Plain lookup tables indexed by the wire value; anything outside a table maps to "unknown" so
 * callers can print any value that came off the network without checking it first. The names are
 * part of the tools' output format, so they never change once released.
 */
#include "arena_proto.h"

static const char *const client_type_names[] = {
    [ARENA_HELLO] = "HELLO",
    [ARENA_JOIN] = "JOIN",
    [ARENA_LEAVE] = "LEAVE",
    [ARENA_MOVE] = "MOVE",
    [ARENA_CHAT] = "CHAT",
    [ARENA_PING] = "PING",
    [ARENA_LEADERBOARD_REQ] = "LEADERBOARD_REQ",
};

static const char *const server_type_names[] = {
    [ARENA_WELCOME - 0x80] = "WELCOME",
    [ARENA_JOINED - 0x80] = "JOINED",
    [ARENA_LEFT - 0x80] = "LEFT",
    [ARENA_SNAPSHOT - 0x80] = "SNAPSHOT",
    [ARENA_CHAT_MSG - 0x80] = "CHAT_MSG",
    [ARENA_PONG - 0x80] = "PONG",
    [ARENA_LEADERBOARD - 0x80] = "LEADERBOARD",
    [ARENA_ERROR - 0x80] = "ERROR",
    [ARENA_BYE - 0x80] = "BYE",
};

static const char *const error_names[] = {
    [ARENA_ERR_MALFORMED] = "malformed",
    [ARENA_ERR_FRAME_TOO_BIG] = "frame_too_big",
    [ARENA_ERR_UNKNOWN_TYPE] = "unknown_type",
    [ARENA_ERR_BAD_UTF8] = "bad_utf8",
    [ARENA_ERR_OUT_OF_RANGE] = "out_of_range",
    [ARENA_ERR_VERSION] = "version",
    [ARENA_ERR_NOT_WELCOMED] = "not_welcomed",
    [ARENA_ERR_ALREADY_WELCOMED] = "already_welcomed",
    [ARENA_ERR_NOT_IN_ROOM] = "not_in_room",
    [ARENA_ERR_ROOM_FULL] = "room_full",
    [ARENA_ERR_TOO_MANY_ROOMS] = "too_many_rooms",
    [ARENA_ERR_RATE_LIMITED] = "rate_limited",
    [ARENA_ERR_BAD_NAME] = "bad_name",
    [ARENA_ERR_SERVER_FULL] = "server_full",
    [ARENA_ERR_INTERNAL] = "internal",
};

static const char *const bye_names[] = {
    [ARENA_BYE_SHUTDOWN] = "shutdown",
    [ARENA_BYE_KICKED] = "kicked",
    [ARENA_BYE_SERVER_FULL] = "server_full",
    [ARENA_BYE_IDLE] = "idle",
    [ARENA_BYE_PROTOCOL_ERROR] = "protocol_error",
    [ARENA_BYE_TOO_SLOW] = "too_slow",
    [ARENA_BYE_FLOOD] = "flood",
    [ARENA_BYE_IP_LIMIT] = "ip_limit",
};

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static const char *lookup(const char *const *table, size_t n, int i)
{
	if (i < 0 || (size_t)i >= n || !table[i])
		return "unknown";
	return table[i];
}

/* Contract: see arena_proto.h. */
const char *arena_msg_type_name(int type)
{
	if (type >= 0x80)
		return lookup(server_type_names, ARRAY_LEN(server_type_names), type - 0x80);
	return lookup(client_type_names, ARRAY_LEN(client_type_names), type);
}

/* Contract: see arena_proto.h. */
const char *arena_error_name(int code)
{
	return lookup(error_names, ARRAY_LEN(error_names), code);
}

/* Contract: see arena_proto.h. */
const char *arena_bye_name(int reason)
{
	return lookup(bye_names, ARRAY_LEN(bye_names), reason);
}

/* Contract: see arena_proto.h. Accepts the error with either sign. */
const char *arena_decode_strerror(int err)
{
	switch (err < 0 ? -err : err) {
	case ARENA_E_TRUNCATED:
		return "truncated frame";
	case ARENA_E_OVERSIZE:
		return "frame too large";
	case ARENA_E_UNKNOWN:
		return "unknown or unexpected message type";
	case ARENA_E_UTF8:
		return "invalid UTF-8 or control character in a string";
	case ARENA_E_RANGE:
		return "field out of range";
	case ARENA_E_TRAILING:
		return "trailing bytes in frame";
	default:
		return "unknown decoder error";
	}
}

/* Contract: see arena_proto.h. Anything that is not a decoder error maps to MALFORMED. */
enum arena_error_code arena_error_for_decode(int err)
{
	switch (err < 0 ? -err : err) {
	case ARENA_E_OVERSIZE:
		return ARENA_ERR_FRAME_TOO_BIG;
	case ARENA_E_UNKNOWN:
		return ARENA_ERR_UNKNOWN_TYPE;
	case ARENA_E_UTF8:
		return ARENA_ERR_BAD_UTF8;
	case ARENA_E_RANGE:
		return ARENA_ERR_OUT_OF_RANGE;
	case ARENA_E_TRUNCATED:
	case ARENA_E_TRAILING:
	default:
		return ARENA_ERR_MALFORMED;
	}
}
