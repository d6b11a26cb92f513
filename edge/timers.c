#include "edge/timers.h"

#include "common/clock.h"
#include "common/textlog.h"
#include "edge/edge.h"
#include "proto/close_codes.h"
#include "shm/slots.h"

/* Grace for a closing connection to get its close frame out. */
#define RC_CLOSE_GRACE_S 5

static uint32_t deadline_of(const rc_edge_t *e, const rc_conn_t *c)
{
    uint64_t ms;
    switch (c->state) {
    case RC_CONN_HANDSHAKE:
        ms = e->handshake_timeout_ms;
        break;
    case RC_CONN_OPEN: {
        ms = e->idle_timeout_ms;
        uint32_t idle = ms ? c->last_rx_s + (uint32_t)((ms + 999) / 1000) : 0;
        /* a token's expiry is a deadline too (auth = jwt) */
        if (c->exp_s && (!idle || c->exp_s < idle))
            return c->exp_s;
        return idle; /* 0: disabled */
    }
    default:
        ms = RC_CLOSE_GRACE_S * 1000;
        break;
    }
    return c->last_rx_s + (uint32_t)((ms + 999) / 1000);
}

static void arm_tick(rc_edge_t *e)
{
    if (e->wheel_armed)
        return;
    e->io->tick_arm(e);
    e->wheel_armed = 1;
}

static void file_at(rc_edge_t *e, rc_conn_t *c, uint32_t when)
{
    if (when < e->wheel_now + 1)
        when = e->wheel_now + 1;
    if (when - e->wheel_now >= RC_WHEEL_SLOTS)
        when = e->wheel_now + RC_WHEEL_SLOTS - 1;
    uint32_t s = when % RC_WHEEL_SLOTS;
    c->tw_prev = NULL;
    c->tw_next = e->wheel[s];
    if (c->tw_next)
        c->tw_next->tw_prev = c;
    e->wheel[s] = c;
    c->tw_slot = (uint16_t)s;
    c->on_wheel = 1;
    e->wheel_count++;
    arm_tick(e);
}

void rc_wheel_add(rc_edge_t *e, rc_conn_t *c)
{
    rc_wheel_del(e, c);
    if (!e->wheel_now)
        e->wheel_now = rc_clock_mono_s();
    uint32_t d = deadline_of(e, c);
    if (d)
        file_at(e, c, d);
}

void rc_wheel_del(rc_edge_t *e, rc_conn_t *c)
{
    if (!c->on_wheel)
        return;
    if (c->tw_prev)
        c->tw_prev->tw_next = c->tw_next;
    else
        e->wheel[c->tw_slot] = c->tw_next;
    if (c->tw_next)
        c->tw_next->tw_prev = c->tw_prev;
    c->tw_prev = c->tw_next = NULL;
    c->on_wheel = 0;
    e->wheel_count--;
}

static void expire(rc_edge_t *e, rc_conn_t *c)
{
    if (c->state == RC_CONN_OPEN && c->exp_s && e->wheel_now >= c->exp_s) {
        /* The token expired (auth = jwt): the client reconnects with a new one. */
        RC_SLOT_ADD(e->slot, expiries, 1);
        rc_conn_close(e, c, RC_CLOSE_TOKEN_EXPIRED);
        return;
    }
    static rc_textlog_limit_t lim;
    if (rc_textlog_allow(&lim, 10))
        rc_textlog("info", "msg=\"connection timed out\" state=%s suppressed=%lu",
                c->state == RC_CONN_HANDSHAKE ? "handshake" : c->state == RC_CONN_OPEN ? "idle" : "closing",
                lim.suppressed);
    if (c->state == RC_CONN_HANDSHAKE)
        RC_SLOT_ADD(e->slot, handshake_timeouts, 1);
    if (c->state == RC_CONN_OPEN)
        rc_conn_close(e, c, RC_CLOSE_GOING_AWAY); /* files it again with the closing grace */
    else
        rc_conn_abort(e, c);
}

void rc_wheel_tick(rc_edge_t *e)
{
    e->wheel_armed = 0;
    uint32_t now = rc_clock_mono_s();
    while (e->wheel_now < now) {
        e->wheel_now++;
        uint32_t s = e->wheel_now % RC_WHEEL_SLOTS;
        rc_conn_t *list = e->wheel[s];
        e->wheel[s] = NULL;
        while (list) {
            rc_conn_t *c = list;
            list = c->tw_next;
            c->on_wheel = 0;
            c->tw_prev = c->tw_next = NULL;
            e->wheel_count--;
            uint32_t d = deadline_of(e, c);
            if (!d)
                continue;
            if (d <= e->wheel_now)
                expire(e, c);
            else
                file_at(e, c, d);
        }
    }
    if (e->wheel_count)
        arm_tick(e);
}
