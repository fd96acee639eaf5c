-- Hot reload of rules (issue #14): the version of the rules that decided a call, the SHA-256 of the policy,
-- masking and risk rule files in force (attest.rules.RuleReloader). Null for calls no rule decided (refused before
-- the policy) and for records written before this migration. It is also in the chain entry (decision.rules_version)
-- when set.
ALTER TABLE evidence_record ADD COLUMN rules_version text;
