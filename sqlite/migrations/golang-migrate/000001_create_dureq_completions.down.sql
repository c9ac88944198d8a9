DROP TABLE "dureq_completions";
