def saxpy(y, a, x):
    for i in range(x.shape[0]):
        y[i] += a * x[i]
