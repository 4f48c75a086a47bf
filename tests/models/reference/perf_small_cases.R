# Edge cases of predictive performance (issue 10): what rms's lrm.fit returns on separated data,
# Hosmer-Lemeshow when tied risks merge the groups, and pROC's DeLong CI with one case.
#   Rscript tests/models/reference/perf_small_cases.R      (writes tests/models/reference/perf_small_cases.json)
# Uses tests/models/reference/data/perf_n60_p4.csv (see data/perf_make_small.py).
suppressPackageStartupMessages({library(rms); library(pROC); library(jsonlite)})
out <- list(R = R.version.string, rms = as.character(packageVersion("rms")),
            pROC = as.character(packageVersion("pROC")))

# 1. lrm.fit on completely separated data: Newton-Raphson from the intercept-only start, step
#    halving, stopped once -2 log-likelihood changes by <= eps = 0.025 (or after maxit - 1 = 11
#    iterations, then fail = TRUE), so the coefficients are finite. This is what validate.lrm
#    gets for a separated bootstrap sample and for its test-sample calibration refit.
x <- c(-2, -1.5, -1, -0.5, -0.1, 0.2, 0.4, 1, 1.3, 2)
y <- as.numeric(x > 0)
cal <- lrm.fit(x, y, tol = 1e-13)
out$calibration_separated <- list(x = x, y = y, coef = unname(coef(cal)), fail = cal$fail)

# bootstrap samples of perf_n60_p4 whose model separates them (training Dxy = 1): the first
# where lrm.fit stops (fail = FALSE), and the first where it runs out of iterations (fail = TRUE;
# validate drops it), with lrm.fit's coefficients and the resampled rows (1-based)
d <- read.csv("tests/models/reference/data/perf_n60_p4.csv")
d$data_source <- NULL
f <- lrm(pfp ~ ., data = d, x = TRUE, y = TRUE)
set.seed(1)
found <- list()
for (r in 1:5000) {
  i <- sample(nrow(d), replace = TRUE)
  if (length(unique(f$y[i])) < 2) next
  g <- lrm.fit(f$x[i, ], f$y[i], maxit = 12, tol = 1e-12)
  if (is.null(g$coefficients)) next
  separated <- somers2(drop(f$x[i, ] %*% coef(g)[-1]), f$y[i])["Dxy"] == 1
  key <- if (isTRUE(g$fail)) "stopped_by_maxit" else "stopped_by_eps"
  if (separated && is.null(found[[key]]))
    found[[key]] <- list(rows = i, coef = unname(coef(g)), fail = g$fail,
                         deviance = unname(g$deviance[2]))
  if (length(found) == 2) break
}
out$bootstrap_separated <- found

# 2. Hosmer-Lemeshow with a 4-level predictor modelled as linear (it is not): the fitted risks
#    take 4 values; the unique type-7 deciles are those 4 values plus one interpolated between
#    the 2nd and 3rd, so cut() makes 4 intervals, one of them empty: 3 groups are formed
#    ({1st, 2nd level}, {3rd}, {4th}). ResourceSelection::hoslem.test (computed as in models.R)
#    returns NaN here, the empty group entering as 0/0, and would use df = g - 2 = 8; the
#    statistic over the groups formed is referred to df = groups formed - 2 = 1.
level <- rep(0:3, each = 50)
events <- c(3, 15, 5, 14)
pfp <- unlist(lapply(events, function(k) rep(c(1, 0), c(k, 50 - k))))
fit <- glm(pfp ~ level, family = binomial, control = glm.control(epsilon = 1e-14))
yhat <- unname(fitted(fit))
qq <- unique(quantile(yhat, probs = seq(0, 1, 0.1)))
cutyhat <- cut(yhat, breaks = qq, include.lowest = TRUE)
hoslem_nan <- {
  observed <- xtabs(cbind(y0 = 1 - pfp, y1 = pfp) ~ cutyhat)
  expected <- xtabs(cbind(yhat0 = 1 - yhat, yhat1 = yhat) ~ cutyhat)
  sum((observed - expected)^2 / expected)
}
formed <- droplevels(cutyhat)
observed <- xtabs(cbind(y0 = 1 - pfp, y1 = pfp) ~ formed)
expected <- xtabs(cbind(yhat0 = 1 - yhat, yhat1 = yhat) ~ formed)
chisq <- sum((observed - expected)^2 / expected)
groups <- nlevels(formed)
out$hoslem_tied <- list(level = level, pfp = pfp, prob = yhat, coef = unname(coef(fit)),
                        intervals = nlevels(cutyhat), groups = groups, statistic = chisq,
                        df = groups - 2, p = pchisq(chisq, groups - 2, lower.tail = FALSE),
                        p_df8 = pchisq(chisq, 8, lower.tail = FALSE),
                        hoslem_test_statistic = hoslem_nan)

# 3. pROC with a single case (or a single control): the AUC exists, its DeLong variance and
#    CI do not (NA)
s <- c(0.9, 0.2, 0.5, 0.95, 0.1, 0.3)
proc_one <- function(y) {
  r <- roc(y, s, direction = "<", levels = c(0, 1), quiet = TRUE)
  ci <- ci.auc(r, method = "delong")
  list(y = y, score = s, auc = as.numeric(auc(r)), var = var(r, method = "delong"),
       ci_low = ci[1], ci_high = ci[3])
}
out$proc_one_case <- proc_one(c(1, 0, 0, 0, 0, 0))
out$proc_one_control <- proc_one(c(0, 1, 1, 1, 1, 1))
write_json(out, "tests/models/reference/perf_small_cases.json", digits = NA, auto_unbox = TRUE,
           pretty = TRUE, na = "null")
