"""Voice announcements (SPEC 3.2, issue 21): the spoken-text rule, its segments, and the recorded
voice packs a hall display plays when the device has no Mandarin voice."""
