# Reference values for tests/cohort/test_missing.py (pfps_stats.cohort.missing.missing_table).
#   Rscript tests/cohort/reference/missing_table.R   (writes tests/cohort/reference/missing_table.json)
# Needs Debian's r-base-core and r-cran-jsonlite. Base R only: fisher.test, chisq.test.
#
# For each variable: missing counts overall and by outcome, and the test of missingness
# against the outcome on the 2x2 table (missing, observed) x (pfp = 1, pfp = 0): Fisher's exact
# test (two-sided) when any expected count is below 5, else Pearson's chi-square without
# continuity correction. Both p-values are stored; `test` names the one chosen.
suppressPackageStartupMessages(library(jsonlite))

test_2x2 <- function(tab) {
  expected <- outer(rowSums(tab), colSums(tab)) / sum(tab)
  p_fisher <- fisher.test(tab, alternative = "two.sided")$p.value
  p_chisq <- suppressWarnings(chisq.test(tab, correct = FALSE)$p.value)
  fisher <- any(expected < 5)
  list(min_expected = min(expected), p_fisher = p_fisher, p_chisq = p_chisq,
       test = if (fisher) "Fisher's exact" else "chi-square",
       p_value = if (fisher) p_fisher else p_chisq)
}

# 1. The SYNTHETIC demo cohort shipped with pfps_stats: all runners, and each subgroup ---------
demo <- read.csv("src/pfps_stats/data/demo_cohort.csv", na.strings = c("NA", ""))
variables <- setdiff(names(demo), c("runner_id", "pfp"))
one_subset <- function(d) {
  rows <- lapply(variables, function(v) {
    miss <- is.na(d[[v]])
    y <- d$pfp
    row <- list(variable = v, n = nrow(d), n_missing = sum(miss),
                pct_missing = 100 * sum(miss) / nrow(d),
                n_missing_cases = sum(miss & y == 1), n_missing_noncases = sum(miss & y == 0),
                pct_missing_cases = 100 * sum(miss & y == 1) / sum(y == 1),
                pct_missing_noncases = 100 * sum(miss & y == 0) / sum(y == 0))
    if (sum(miss) == 0) return(c(row, test = "none: nothing missing", p_value = NA))
    tab <- table(factor(miss, levels = c(TRUE, FALSE)), factor(y, levels = c(1, 0)))
    c(row, test_2x2(tab))
  })
  rows
}
demo_out <- list(all = one_subset(demo))
for (s in c("military", "adolescent", "recreational")) {
  demo_out[[s]] <- one_subset(demo[demo$subgroup == s, ])
}

# 2. Hand-made 2x2 tables: a = missing & case, b = missing & non-case, c = observed & case,
#    d = observed & non-case. Small (n = 30, a single case), tied (symmetric), on the boundary
#    (smallest expected count exactly 5, and 4.9), large with a small expected count, and large.
tables <- list(
  c(1, 0, 0, 29), c(1, 4, 0, 25), c(0, 3, 1, 26), c(1, 2, 0, 27), c(3, 2, 2, 3),
  c(2, 2, 2, 2), c(5, 5, 20, 20), c(4, 6, 21, 19), c(6, 4, 19, 22), c(2, 300, 30, 2000),
  c(0, 40, 25, 235), c(40, 60, 160, 740), c(10, 90, 100, 800), c(12, 30, 20, 138)
)
table_out <- lapply(tables, function(k) {
  tab <- matrix(k, 2, 2, byrow = TRUE)
  c(list(a = k[1], b = k[2], c = k[3], d = k[4]), test_2x2(tab))
})

write_json(list(R = R.version.string, demo = demo_out, tables = table_out),
           "tests/cohort/reference/missing_table.json",
           digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null")
