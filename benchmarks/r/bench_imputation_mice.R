# R side of benchmarks/bench_imputation.py: mice + with(glm) + pool on the benchmark's
# SYNTHETIC cohort, timed inside R (R start-up and reading the CSV excluded).
#   Rscript benchmarks/r/bench_imputation_mice.R <data.csv> <m> <maxit> <seed>
# Prints one line: seconds for mice(), seconds for with(glm) + pool(), mice version, then the
# pooled log odds ratio and standard error of hip_abd_strength_nkg.
# Every incomplete column by predictive mean matching (method = "pmm", mice's default for
# numeric columns; donors = 5, type 1 matching after a Bayesian linear regression draw), every
# other column a predictor (mice's default predictorMatrix), as pfps_stats.impute does.
suppressPackageStartupMessages(library(mice))
args <- commandArgs(TRUE)
d <- read.csv(args[1])
d$runner_id <- NULL
d$data_source <- NULL
d$sex <- factor(d$sex, levels = c("F", "M"))  # complete: a predictor only, as in impute()
m <- as.integer(args[2]); maxit <- as.integer(args[3]); seed <- as.integer(args[4])
t_mice <- system.time(
  imp <- mice(d, m = m, maxit = maxit, method = "pmm", donors = 5L, seed = seed,
              printFlag = FALSE)
)["elapsed"]
t_pool <- system.time({
  fit <- with(imp, glm(pfp ~ age_years + sex + height_cm + mass_kg + q_angle_deg + weekly_km +
                         hip_abd_strength_nkg + knee_ext_strength_nmkg, family = binomial))
  p <- summary(pool(fit))
})["elapsed"]
hip <- p[p$term == "hip_abd_strength_nkg", ]
cat(t_mice, t_pool, as.character(packageVersion("mice")), hip$estimate, hip$std.error, "\n")
