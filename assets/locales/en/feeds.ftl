# feeds: the pages of this integration (issue 15).
