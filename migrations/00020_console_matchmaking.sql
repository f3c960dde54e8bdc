-- +goose Up

-- The console's Matchmaking screen (live queue depths and wait times),
-- granted to deployments whose roles were seeded before it as
-- rbac.DefaultPolicy grants it to new ones.
INSERT INTO rbac_rules (ptype, v0, v1, v2)
SELECT 'p', r.role, 'matchmaking', 'view'
FROM (VALUES ('admin'), ('designer'), ('analyst')) AS r (role)
WHERE EXISTS (SELECT 1 FROM rbac_rules)
ON CONFLICT DO NOTHING;

-- +goose Down
DELETE FROM rbac_rules WHERE ptype = 'p' AND v1 = 'matchmaking';
