-- Budgets and limits shared by every replica (issue #13): one counter per subject, limit and window. A request
-- is admitted by a conditional upsert (INSERT ... ON CONFLICT DO UPDATE ... WHERE used < limit RETURNING), so
-- two replicas never admit more than one would; tokens and cost are added when the answer's usage is known.
CREATE TABLE usage_counter (
    scope         text NOT NULL,       -- 'key:<id>', 'user:<subject>', 'group:<path>', 'rule:<id>|<subject>'
    metric        text NOT NULL,       -- requests | tokens | cost_micros
    period        text NOT NULL,       -- minute | day | month
    window_start  timestamptz NOT NULL,
    window_end    timestamptz NOT NULL,
    used          bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (scope, metric, period, window_start)
);
CREATE INDEX usage_counter_end ON usage_counter (window_end);
