-- +goose Up
-- The W3C traceparent of the request (or job) that wrote an event, so the
-- relay's delivery span continues that trace. NULL when tracing is off or the
-- writer had no trace.
ALTER TABLE outbox_events ADD COLUMN traceparent text;

-- +goose Down
ALTER TABLE outbox_events DROP COLUMN traceparent;
