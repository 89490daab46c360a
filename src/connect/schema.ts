import {z} from 'zod'

/** A stored Kafka Connect URL: http(s), no userinfo (credentials are never stored), no query. */
export const connectUrlSchema = z.string().refine(
  (value) => {
    try {
      const url = new URL(value)
      return (url.protocol === 'http:' || url.protocol === 'https:') && url.username === '' && url.password === '' && url.search === ''
    } catch {
      return false
    }
  },
  {message: 'expected an http(s) URL without credentials'},
)
