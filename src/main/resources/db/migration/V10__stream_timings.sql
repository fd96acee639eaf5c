-- For streamed answers: when each piece arrived from the upstream, [[ms after the first byte, bytes], ...]
-- (the first 1000), for the replay timeline.
ALTER TABLE evidence_record ADD COLUMN stream_timings text;
