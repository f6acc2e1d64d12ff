//! bff's tables. None: the BFF holds no data (every answer is accounting's).
