// Linear multilevel model with a correlated random intercept and slope, Stata's default priors
// for `bayes: mixed y x ... || g: x, covariance(unstructured)`:
//   coefficients ~ normal(0, 100^2), residual variance ~ igamma(.01, .01),
//   2x2 random-effects covariance ~ iwishart(3, I(2)), random effects ~ mvnormal(0, Sigma).
// Centred parametrisation: the random effects themselves are parameters, as in Stata's sampler.
data {
  int<lower=1> N;                 // observations
  int<lower=1> K;                 // fixed-effect columns (constant included)
  int<lower=1> J;                 // groups
  matrix[N, K] X;
  matrix[N, 2] Z;                 // random-effect columns: slope variable, constant
  int<lower=1, upper=J> g[N];     // group of each observation
  vector[N] y;
}
transformed data {
  matrix[2, 2] scale = diag_matrix(rep_vector(1.0, 2));
  row_vector[2] zero = rep_row_vector(0.0, 2);
}
parameters {
  vector[K] beta;
  real<lower=0> sigma2;
  cov_matrix[2] Sigma;
  matrix[J, 2] u;
}
model {
  matrix[2, 2] L = cholesky_decompose(Sigma);
  beta ~ normal(0, 100);
  sigma2 ~ inv_gamma(0.01, 0.01);
  Sigma ~ inv_wishart(3, scale);
  for (j in 1:J)
    u[j] ~ multi_normal_cholesky(zero, L);
  y ~ normal(X * beta + rows_dot_product(Z, u[g]), sqrt(sigma2));
}
