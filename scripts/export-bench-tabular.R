# Exports two public tabular data sets of Debian's r-cran-modeldata (MIT) for the gradient-boosting benchmark
# (bench/ml/gbdt.ts): mlc_churn (5,000 telecom customers, binary `churn`) and ames (2,930 house sales, `Sale_Price`).
# Written at setup (scripts/setup.sh --with-data), not committed. Usage: Rscript scripts/export-bench-tabular.R OUT_DIR
args <- commandArgs(trailingOnly = TRUE)
out <- if (length(args) > 0) args[1] else "bench/ml/data"
dir.create(out, recursive = TRUE, showWarnings = FALSE)
churn <- modeldata::mlc_churn
write.csv(churn, file.path(out, "churn.csv"), row.names = FALSE)
ames <- as.data.frame(modeldata::ames)
# Factors as text, so the CSV reader sees categories (Cairn one-hot encodes them).
for (c in names(ames)) if (is.factor(ames[[c]])) ames[[c]] <- as.character(ames[[c]])
write.csv(ames, file.path(out, "ames.csv"), row.names = FALSE)
cat(sprintf("wrote %s/churn.csv (%d rows) and %s/ames.csv (%d rows)\n", out, nrow(churn), out, nrow(ames)))
