# Reference values for tests/models/test_pooling.py: Rubin's rules as R's mice pools them,
# mice::pool() on glm fits to multiply imputed data and mice::pool.scalar() on given numbers.
#   Rscript tests/models/reference/pooling_mice.R   (run from the repository root; writes
#   tests/models/reference/pooling_mice.json and tests/models/reference/data/pooling_*.csv)
# Needs Debian's r-base-core r-cran-mice r-cran-jsonlite (mice 3.15.0 here).
suppressPackageStartupMessages({
  library(mice); library(jsonlite)
})
out <- list(R = R.version.string, mice = as.character(packageVersion("mice")),
            jsonlite = as.character(packageVersion("jsonlite")))
data_dir <- "tests/models/reference/data"

# 1. Data ------------------------------------------------------------------------------------
# SYNTHETIC: 200 runners, outcome pfp (0/1), a continuous x1 (think hip strength, z-score)
# correlated with a complete continuous x2 (think age, z-score), and a binary x3. x1 is missing
# more often in older runners and in cases, x3 more often in older runners: missing at random
# given x2 and pfp. Continuous values are rounded to 2 decimals so that the CSVs hold the
# values R fits exactly (predictive mean matching imputes observed donor values).
set.seed(20250712)
n <- 200
x2 <- round(rnorm(n), 2)
x1 <- round(0.5 * x2 + rnorm(n), 2)
x3 <- rbinom(n, 1, plogis(-0.3 + 0.6 * x2))
pfp <- rbinom(n, 1, plogis(-0.8 + 0.7 * x1 - 0.5 * x2 + 0.8 * x3))
miss_x1 <- runif(n) < plogis(-1.6 + 0.9 * x2 + 0.8 * pfp)
miss_x3 <- runif(n) < plogis(-2.0 + 0.8 * x2)
d <- data.frame(pfp = pfp, x1 = x1, x2 = x2, x3 = x3)
d$x1[miss_x1] <- NA
d$x3[miss_x3] <- NA
write.csv(d, file.path(data_dir, "pooling_incomplete.csv"), row.names = FALSE, na = "")

# 2. Imputation ------------------------------------------------------------------------------
# mice's defaults: predictive mean matching (pmm) for every numeric column with missing
# values, every other column as a predictor, maxit = 5.
seed <- 20250713
imp <- mice(d, m = 5, seed = seed, printFlag = FALSE)
stopifnot(all(imp$method[c("x1", "x3")] == "pmm"))
files <- character(imp$m)
for (i in seq_len(imp$m)) {
  files[i] <- sprintf("pooling_complete_%d.csv", i)
  completed <- complete(imp, i)
  write.csv(completed, file.path(data_dir, files[i]), row.names = FALSE)
  back <- read.csv(file.path(data_dir, files[i]))
  stopifnot(isTRUE(all.equal(back, completed, tolerance = 0)))  # the CSV holds R's values
}
out$data <- list(
  incomplete = "pooling_incomplete.csv", complete = files, n = n, m = imp$m, seed = seed,
  method = as.list(imp$method), maxit = imp$iteration,
  n_missing = as.list(colSums(is.na(d)))
)

# 3. Fits and pooling ------------------------------------------------------------------------
# glm converged to the maximum itself (epsilon 1e-14 rather than 1e-8), so that the stored
# per-imputation estimates are the ML estimates; mice's pooling is unchanged by this.
formula <- pfp ~ x1 + x2 + x3
fit <- with(imp, glm(pfp ~ x1 + x2 + x3, family = binomial,
                     control = glm.control(epsilon = 1e-14, maxit = 100)))
out$formula <- deparse(formula)
out$per_imputation <- lapply(fit$analyses, function(g) list(
  term = names(coef(g)), estimate = unname(coef(g)),
  std_error = unname(sqrt(diag(vcov(g)))), df_residual = g$df.residual,
  converged = g$converged
))
pooled <- pool(fit)  # dfcom = df.residual of the fits (n - p = 196)
p <- pooled$pooled
out$pooled <- list(
  dfcom = p$dfcom[1],
  rows = data.frame(term = as.character(p$term), m = p$m, estimate = p$estimate,
                    ubar = p$ubar, b = p$b, t = p$t, dfcom = p$dfcom, df = p$df,
                    riv = p$riv, lambda = p$lambda, fmi = p$fmi)
)
s <- summary(pooled, conf.int = TRUE)
out$summary <- data.frame(term = as.character(s$term), estimate = s$estimate,
                          std_error = s$std.error, statistic = s$statistic, df = s$df,
                          p_value = s$p.value, conf_low = s[["2.5 %"]],
                          conf_high = s[["97.5 %"]])
# pool() with an explicit dfcom, e.g. an infinite one (df = Rubin's 1987 (m - 1) / lambda^2).
p_inf <- pool(fit, dfcom = Inf)$pooled
out$pooled_dfcom_inf <- data.frame(term = as.character(p_inf$term), df = p_inf$df,
                                   fmi = p_inf$fmi)

# 4. pool.scalar -----------------------------------------------------------------------------
# pool.scalar(Q, U, n, k): dfcom = n - k. n = Inf is pool.scalar's default (stored as "Inf").
scalar_case <- function(name, Q, U, n = Inf, k = 1) {
  r <- pool.scalar(Q, U, n = n, k = k)
  list(name = name, Q = Q, U = U, n = if (is.infinite(n)) "Inf" else n, k = k,
       m = r$m, qbar = r$qbar, ubar = r$ubar, b = r$b, t = r$t, df = r$df, r = r$r,
       fmi = r$fmi, lambda = (1 + 1 / r$m) * r$b / r$t)
}
x1_est <- sapply(fit$analyses, function(g) coef(g)[["x1"]])
x1_var <- sapply(fit$analyses, function(g) vcov(g)["x1", "x1"])
out$scalar <- list(
  scalar_case("x1 of the glm fits (n = 200, k = 4)", x1_est, x1_var, n = 200, k = 4),
  scalar_case("typical", c(1.2, 1.5, 0.9, 1.1, 1.3), c(0.04, 0.05, 0.045, 0.05, 0.042),
              n = 120, k = 3),
  scalar_case("b = 0: identical estimates", rep(0.7, 5), c(0.01, 0.02, 0.03, 0.02, 0.01),
              n = 100, k = 1),
  scalar_case("b = 0, n = Inf", c(-0.25, -0.25, -0.25, -0.25), c(0.2, 0.1, 0.3, 0.2)),
  scalar_case("m = 2", c(0.3, 0.5), c(0.01, 0.012), n = 50, k = 3),
  scalar_case("m = 2, n = Inf", c(1, 2), c(0.1, 0.1)),
  scalar_case("lambda near 1", c(-1, 2, 0.5), c(0.001, 0.002, 0.0015), n = 30, k = 2),
  scalar_case("one zero variance", c(2.1, 1.9, 2.4, 2.0, 2.2, 1.8), c(0, 0.05, 0.06, 0.04,
              0.05, 0.05), n = 60.5, k = 2.5),
  scalar_case("m = 20, small dfcom", seq(0.1, 2, by = 0.1), rep(c(0.3, 0.35), 10), n = 12,
              k = 9)
)
# Zero within-imputation variance in every dataset: riv is Inf (or NaN) and fmi NaN in mice;
# pfps_stats refuses these (tests check the error).
out$scalar_degenerate <- list(
  scalar_case("all U = 0, b > 0", c(1, 2, 3), c(0, 0, 0), n = 100, k = 1),
  scalar_case("all U = 0, b = 0", c(1, 1, 1), c(0, 0, 0), n = 100, k = 1)
)

writeLines(toJSON(out, digits = I(15), auto_unbox = TRUE, pretty = TRUE, dataframe = "columns",
                  na = "string"),
           "tests/models/reference/pooling_mice.json")
