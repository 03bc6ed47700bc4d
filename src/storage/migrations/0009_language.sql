-- The language each person reads holdfast in ('en', 'pl'); NULL follows the instance's default
-- (the `money.locale` setting). The domain code checks the value; no CHECK here, so that adding a
-- language never needs a table rebuild.
ALTER TABLE users ADD COLUMN language TEXT;
