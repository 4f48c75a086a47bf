# rms::validate (Harrell's optimism bootstrap) on four small SYNTHETIC cohorts, where few
# events per predictor make some bootstrap samples separated (issue 10), and a rare binary
# exposure makes some singular (rms drops those), for comparison with
# pfps_stats.validate_bootstrap within Monte Carlo error.
#   Rscript tests/models/reference/rms_validate_small.R      (writes tests/models/reference/rms_validate_small.json)
# The cohorts are tests/models/reference/data/perf_*.csv, written by
#   .venv/bin/python tests/models/reference/data/perf_make_small.py
suppressPackageStartupMessages({library(rms); library(jsonlite)})
B <- 4000      # rms::validate replicates
B_SD <- 2000   # replicates of the second look that measures the spread of each optimism
keep <- c("Dxy", "Intercept", "Slope", "B")
out <- list(R = R.version.string, rms = as.character(packageVersion("rms")), B = B,
            B_sd = B_SD, metrics = keep, datasets = list())
for (name in c("perf_n60_p4", "perf_n100_p5", "perf_n60_sparse", "perf_n80_rare")) {
  d <- read.csv(sprintf("tests/models/reference/data/%s.csv", name))
  d$data_source <- NULL
  predictors <- setdiff(names(d), "pfp")
  f <- lrm(reformulate(predictors, "pfp"), data = d, x = TRUE, y = TRUE)
  set.seed(20240610)
  v <- rms::validate(f, B = B)  # jsonlite also exports a validate()
  res <- list(n = nrow(d), events = sum(d$pfp), predictors = predictors,
              coef = unname(coef(f)), kept = unname(v["Dxy", "n"]))  # replicates not failed
  for (col in c("index.orig", "training", "test", "optimism", "index.corrected"))
    res[[col]] <- unname(v[keep, col])
  # A second look at the replicates, computed exactly as validate.lrm does (lrm.fit with
  # maxit = 12 for the bootstrap model, failed fits dropped; lrm.fit(lp, y, tol = 1e-13) for
  # the test-sample calibration; somers2 for Dxy), keeping each replicate's optimism: its SD
  # sets the Monte Carlo tolerance of the tests.
  set.seed(1)
  x <- f$x; y <- f$y
  reps <- t(replicate(B_SD, {
    i <- sample(nrow(x), replace = TRUE)
    # predab.resample wraps the fit in tryCatch: a sample without events is a failed fit
    g <- tryCatch(lrm.fit(x[i, ], y[i], maxit = 12, tol = 1e-12),
                  error = function(e) list(fail = TRUE))
    if (isTRUE(g$fail) || is.null(g$coefficients)) {
      c(Dxy = NA, Intercept = NA, Slope = NA, B = NA)
    } else {
      lp_train <- g$linear.predictors
      lp_test <- drop(x %*% coef(g)[-1] + coef(g)[1])
      cal <- coef(lrm.fit(lp_test, y, tol = 1e-13))
      c(Dxy = unname(somers2(lp_train, y[i])["Dxy"] - somers2(lp_test, y)["Dxy"]),
        Intercept = unname(-cal[1]), Slope = unname(1 - cal[2]),
        B = mean((plogis(lp_train) - y[i])^2) - mean((plogis(lp_test) - y)^2))
    }
  }))
  res$optimism_sd <- unname(apply(reps[, keep], 2, sd, na.rm = TRUE))
  res$second_look_optimism <- unname(colMeans(reps[, keep], na.rm = TRUE))
  res$second_look_failed <- sum(is.na(reps[, "Dxy"]))
  out$datasets[[name]] <- res
}
write_json(out, "tests/models/reference/rms_validate_small.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE)
