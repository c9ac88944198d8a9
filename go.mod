module github.com/dureqsql/completion

go 1.26
