-- A group's members by status in joining order (the member list, the default name and avatar
-- from the first 50): an index walk, not a pass over every member of a 100,000-member group.
CREATE INDEX IF NOT EXISTS group_members_group_status ON group_members (group_id, status, id);
