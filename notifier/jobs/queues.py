"""Queue and actor names, in one place. The worker consumes every queue listed here."""

FAN_OUT_QUEUE = "fan_out"
DELIVER_QUEUE = "deliver"

FAN_OUT_ACTOR = "fan_out"
DELIVER_ACTOR = "deliver"

QUEUES = (FAN_OUT_QUEUE, DELIVER_QUEUE)
