# feeds: strony tej integracji (issue 15).
