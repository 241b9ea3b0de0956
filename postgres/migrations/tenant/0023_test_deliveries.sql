-- A test delivery, asked for by a member, is logged beside the
-- notifications' own, and told apart.
ALTER TABLE deliveries ADD COLUMN test boolean NOT NULL DEFAULT false;
