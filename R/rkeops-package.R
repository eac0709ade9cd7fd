#' rkeops: kernel operations on CPU and GPU with automatic differentiation
#'
#' rkeops computes reductions (sum, min, log-sum-exp, ...) over the rows or
#' columns of large M x N matrices whose entries are given by a symbolic
#' formula, such as the Gaussian kernel convolution
#' `Sum_Reduction(Exp(-s * SqNorm2(x - y)) * b, 0)`, without ever storing the
#' matrix: memory stays O(M + N). Each formula is compiled once to C++ (or
#' CUDA) for the machine that runs it and cached per user.
#'
#' Start with [keops_kernel()]; see `vignette("introduction", package =
#' "rkeops")`.
#'
#' @keywords internal
#' @useDynLib rkeops, .registration = TRUE
#' @importFrom Rcpp sourceCpp
"_PACKAGE"
