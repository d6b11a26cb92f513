#include "shm/up_msg.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

int rc_up_broadcast_encode(uint8_t *out, size_t cap, const rc_up_broadcast_t *m)
{
    size_t n = 4 + (size_t)m->topic_len + m->event_len + m->data_len;
    if (n > cap || n > INT32_MAX)
        return -EMSGSIZE;
    memcpy(out, &m->topic_len, 2);
    memcpy(out + 2, &m->event_len, 2);
    memcpy(out + 4, m->topic, m->topic_len);
    memcpy(out + 4 + m->topic_len, m->event, m->event_len);
    memcpy(out + 4 + m->topic_len + m->event_len, m->data, m->data_len);
    return (int)n;
}

int rc_up_broadcast_decode(const uint8_t *p, uint32_t len, rc_up_broadcast_t *m)
{
    if (len < 4)
        return -EINVAL;
    memcpy(&m->topic_len, p, 2);
    memcpy(&m->event_len, p + 2, 2);
    uint64_t names = 4ull + m->topic_len + m->event_len;
    if (names > len)
        return -EINVAL;
    m->topic = (const char *)p + 4;
    m->event = m->topic + m->topic_len;
    m->data = m->event + m->event_len;
    m->data_len = (uint32_t)(len - names);
    return 0;
}
