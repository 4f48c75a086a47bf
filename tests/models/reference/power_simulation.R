# Reference values for tests/models/test_power.py: the power of a logistic model to detect one
# factor, estimated by simulation with R's glm (likelihood-ratio and Wald tests), for the
# data-generating processes (DGPs) of issue 13's contract. The analytic formulas of Hsieh,
# Bloch & Larsen (1998) in pfps_stats.models.power are checked against these numbers.
#   Rscript tests/models/reference/power_simulation.R   (run from the repository root; writes
#   tests/models/reference/power_simulation.json; about 10 minutes on one core)
# Needs Debian's r-base-core r-cran-jsonlite. All data are SYNTHETIC.
#
# DGPs (effect on `scale`, incidence P, n runners analysed, r2_other, exposed B):
#   smd:       Y ~ Bernoulli(P); X | Y ~ N(effect * Y, 1)  (within-group SD 1; the true log OR
#              per within-group SD is exactly `effect`).
#   or_per_sd: X ~ N(0, 1); logit P(Y=1 | X) = b0 + log(effect) X, b0 such that E[P] = P.
#   or_binary: X ~ Bernoulli(B); logit P(Y=1 | X) = b0 + log(effect) X, b0 such that E[P] = P.
#   r2_other > 0: Z = sqrt(r2) (X - E[X]) / SD(X) + sqrt(1 - r2) N(0, 1) with the marginal mean
#              and SD of X, so that corr(X, Z)^2 = r2_other; Z has no effect on Y given X, and
#              the analysis model is Y ~ X + Z (Y ~ X without adjustment).
#   Test: two-sided at alpha = 0.05 of X's coefficient. LR: deviance(Y ~ Z or Y ~ 1) -
#   deviance(full) > qchisq(0.95, 1). Wald: |estimate / SE| > qnorm(0.975), SE as summary.glm.
#   A replicate without cases (or without non-cases) counts as not rejecting.
suppressPackageStartupMessages(library(jsonlite))

N_SIM <- as.integer(Sys.getenv("POWER_N_SIM", "10000"))
ALPHA <- 0.05
SEED0 <- 20250713L

# id, scale, effect, incidence, n (analysed), r2_other, exposed (NA unless or_binary), purpose:
# "planning" scenarios span the planning range (SMD 0.2-0.8, incidence 5-30%, n 100-2000, with
# and without adjustment); the two "probe" scenarios try large effects (log OR 1.1 and 1.4)
# with few runners.
scenarios <- read.table(header = TRUE, stringsAsFactors = FALSE, text = "
id               scale      effect incidence    n r2_other exposed purpose
smd_a            smd          0.20      0.10 2000      0.0      NA   planning
smd_b            smd          0.20      0.30 1000      0.3      NA   planning
smd_c            smd          0.20      0.05 2000      0.0      NA   planning
smd_d            smd          0.30      0.05 2000      0.0      NA   planning
smd_e            smd          0.40      0.15  400      0.0      NA   planning
smd_f            smd          0.50      0.05  500      0.3      NA   planning
smd_g            smd          0.50      0.20  150      0.0      NA   planning
smd_h            smd         -0.69      0.10  200      0.0      NA   planning
smd_i            smd          0.70      0.05  300      0.3      NA   planning
smd_j            smd          0.80      0.10  100      0.0      NA   planning
smd_k            smd          0.80      0.05  100      0.0      NA   planning
smd_l            smd          0.80      0.30  100      0.3      NA   planning
or_sd_a          or_per_sd    1.25      0.10 1000      0.0      NA   planning
or_sd_b          or_per_sd    1.50      0.05  600      0.0      NA   planning
or_sd_c          or_per_sd    1.50      0.20  300      0.3      NA   planning
or_sd_d          or_per_sd    2.00      0.10  150      0.0      NA   planning
or_sd_e          or_per_sd    2.20      0.05  200      0.3      NA   planning
or_sd_f          or_per_sd    0.50      0.30  100      0.0      NA   planning
or_bin_a         or_binary    2.00      0.10  600      0.0     0.3   planning
or_bin_b         or_binary    1.50      0.20  800      0.3     0.5   planning
or_bin_c         or_binary    3.00      0.05  500      0.0     0.2   planning
or_bin_d         or_binary    0.50      0.15  400      0.0     0.4   planning
or_sd_g          or_per_sd    3.00      0.20   40      0.0      NA      probe
or_bin_e         or_binary    4.00      0.20  100      0.0     0.3      probe
")

expit <- function(x) 1 / (1 + exp(-x))

# b0 such that the cohort's incidence is p: X ~ N(0, 1) (integrate) or X ~ Bernoulli(B).
intercept <- function(beta, p, B = NA) {
  if (is.na(B)) {
    f <- function(b0) integrate(function(x) expit(b0 + beta * x) * dnorm(x), -Inf, Inf,
                                rel.tol = 1e-12)$value - p
  } else {
    f <- function(b0) (1 - B) * expit(b0) + B * expit(b0 + beta) - p
  }
  s <- qlogis(p)
  uniroot(f, c(s - 10 - 10 * abs(beta), s + 10 + 10 * abs(beta)), tol = 1e-13)$root
}

# One data set: list(y, x, z) (z NULL without adjustment).
draw <- function(sc, b0) {
  n <- sc$n; p <- sc$incidence; r2 <- sc$r2_other
  if (sc$scale == "smd") {
    y <- rbinom(n, 1, p)
    x <- rnorm(n) + sc$effect * y
    mx <- p * sc$effect; sx <- sqrt(1 + p * (1 - p) * sc$effect^2)
  } else if (sc$scale == "or_per_sd") {
    x <- rnorm(n)
    y <- rbinom(n, 1, expit(b0 + log(sc$effect) * x))
    mx <- 0; sx <- 1
  } else {
    B <- sc$exposed
    x <- rbinom(n, 1, B)
    y <- rbinom(n, 1, expit(b0 + log(sc$effect) * x))
    mx <- B; sx <- sqrt(B * (1 - B))
  }
  z <- if (r2 > 0) sqrt(r2) * (x - mx) / sx + sqrt(1 - r2) * rnorm(n) else NULL
  list(y = y, x = x, z = z)
}

binom_dev <- function(y) {
  k <- sum(y); n <- length(y)
  if (k == 0 || k == n) return(0)
  -2 * (k * log(k / n) + (n - k) * log(1 - k / n))
}

# LR and Wald statistics of x in y ~ x (+ z); NA when there are no cases or no non-cases.
test_once <- function(d) {
  k <- sum(d$y)
  if (k == 0 || k == length(d$y)) return(c(lr = NA, wald = NA, boundary = NA))
  ones <- rep(1, length(d$y))
  full <- cbind(ones, d$x, d$z)
  fit <- suppressWarnings(glm.fit(full, d$y, family = binomial()))
  if (is.null(d$z)) {
    dev0 <- binom_dev(d$y)
  } else {
    dev0 <- suppressWarnings(glm.fit(cbind(ones, d$z), d$y, family = binomial()))$deviance
  }
  p <- ncol(full)
  qr <- fit$qr
  stopifnot(qr$rank == p)
  cov <- chol2inv(qr$qr[1:p, 1:p, drop = FALSE])
  j <- which(qr$pivot == 2)  # x is column 2 of the model matrix
  eps <- 10 * .Machine$double.eps
  c(lr = dev0 - fit$deviance,
    wald = unname(fit$coefficients[2] / sqrt(cov[j, j])),
    boundary = any(fit$fitted.values < eps | fit$fitted.values > 1 - eps) || !fit$converged)
}

results <- list()
started <- Sys.time()
for (i in seq_len(nrow(scenarios))) {
  sc <- as.list(scenarios[i, ])
  seed <- SEED0 + i
  set.seed(seed)
  b0 <- if (sc$scale == "smd") NA else intercept(log(sc$effect), sc$incidence, sc$exposed)
  stat <- matrix(NA_real_, N_SIM, 3)
  events <- numeric(N_SIM)
  for (r in seq_len(N_SIM)) {
    d <- draw(sc, b0)
    events[r] <- sum(d$y)
    stat[r, ] <- test_once(d)
  }
  lr <- !is.na(stat[, 1]) & stat[, 1] > qchisq(1 - ALPHA, 1)
  wald <- !is.na(stat[, 2]) & abs(stat[, 2]) > qnorm(1 - ALPHA / 2)
  p_lr <- mean(lr); p_wald <- mean(wald)
  results[[i]] <- list(
    id = sc$id, scale = sc$scale, effect = sc$effect, incidence = sc$incidence, n = sc$n,
    r2_other = sc$r2_other, exposed = sc$exposed, purpose = sc$purpose,
    alpha = ALPHA, test = c("lr", "wald"),
    power_lr = p_lr, power_wald = p_wald,
    mc_se_lr = sqrt(p_lr * (1 - p_lr) / N_SIM), mc_se_wald = sqrt(p_wald * (1 - p_wald) / N_SIM),
    mean_events = mean(events), share_no_events = mean(events == 0 | events == sc$n),
    share_boundary = mean(stat[, 3] == 1, na.rm = TRUE),
    intercept = b0, seed = seed)
  cat(sprintf("%-9s LR %.4f Wald %.4f (SE %.4f)  %.0f s\n", sc$id, p_lr, p_wald,
              sqrt(p_lr * (1 - p_lr) / N_SIM),
              as.numeric(difftime(Sys.time(), started, units = "secs"))))
}

out <- list(R = R.version.string, n_sim = N_SIM, alpha = ALPHA, seed_base = SEED0,
            rng = paste(RNGkind(), collapse = " / "),
            note = paste("SYNTHETIC. glm.fit (binomial, default control); LR and Wald tests of",
                         "X's coefficient; replicates without cases count as not rejecting;",
                         "seed = seed_base + row number; see the header of power_simulation.R"),
            scenarios = results)
json <- toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE, na = "null")
writeLines(json, "tests/models/reference/power_simulation.json")
