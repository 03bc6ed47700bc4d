-- Alert summaries in each reader's language (issue 13): the summary's catalogue key and arguments as
-- JSON (`i18n::Message`), worded when a page or a mail shows the alert. `summary` keeps the English
-- text the syslog stream, webhooks and the API carry. Rows raised before this have '' and show their
-- English summary.
ALTER TABLE alerts ADD COLUMN summary_words TEXT NOT NULL DEFAULT '';
-- How pages and mails name what the alert is about ("address 192.0.2.1" folds repeats and stays as
-- the subject; its words are kept beside it). '' for a name or a path shown as it is.
ALTER TABLE alerts ADD COLUMN subject_words TEXT NOT NULL DEFAULT '';
