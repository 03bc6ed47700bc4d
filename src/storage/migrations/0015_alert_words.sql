-- Alert summaries in each reader's language (issue 13): the summary's catalogue key and arguments as
-- JSON (`i18n::Message`), worded when a page or a mail shows the alert. `summary` keeps the English
-- text the syslog stream, webhooks and the API carry. Rows raised before this have '' and show their
-- English summary.
ALTER TABLE alerts ADD COLUMN summary_words TEXT NOT NULL DEFAULT '';
